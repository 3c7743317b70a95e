import json

import pytest

from tests.conftest import MICRO_ARCHITECTURE
from vasr.data.ctc_fit import REASON, check_ctc_fit, frames_needed
from vasr.data.manifest import ManifestError, read_manifest
from vasr.model.build import build_from_config
from vasr.model.family import family_of
from vasr.text.vocab import PAD, build_vocab, make_tokenizer, save_vocab


def test_repeats_need_a_blank():
    assert frames_needed([1, 2, 2, 3, 3, 3]) == 6 + 3


@pytest.fixture
def too_long(corpus, tmp_path):
    """The corpus's manifest with line 3's transcript replaced by one far longer than its audio."""
    lines = (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[2])
    record["sentence"] = " ".join(["bật đèn phòng khách"] * 200)
    lines[2] = json.dumps(record, ensure_ascii=False)
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    items, report = read_manifest(manifest, corpus / "audio")
    tokenizer = make_tokenizer(save_vocab(build_vocab("corpus", (i.text for i in items)), tmp_path))
    family = family_of(build_from_config(MICRO_ARCHITECTURE, tokenizer.get_vocab(), PAD).config)

    def check(skip_bad: bool):
        return check_ctc_fit(
            {"train": items},
            lambda text: tokenizer(text).input_ids,
            family.frames,
            [report],
            skip_bad,
        )

    return manifest, report, check


def test_a_transcript_longer_than_its_audio_is_named_by_file_and_line(too_long):
    manifest, _, check = too_long
    with pytest.raises(ManifestError, match=rf"{manifest}:3: {REASON}: \d+ frames needed"):
        check(skip_bad=False)


def test_or_counted_and_skipped_when_asked(too_long):
    manifest, report, check = too_long
    kept = check(skip_bad=True)
    assert len(kept["train"]) == 23 and report.kept == 23
    assert report.skipped[REASON] == 1 and report.examples[0].startswith(f"{manifest}:3: {REASON}")
