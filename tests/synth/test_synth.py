import json
import re
import unicodedata

import soundfile as sf

from vasr.data.manifest import SOICT_KEYS
from vasr.slu.schema import SOICT_ENTITY_TYPES, SOICT_INTENTS
from vasr.synth import write_corpus
from vasr.synth.corpus import plan
from vasr.text import normalize


def lines(folder):
    return [json.loads(line) for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]


def test_manifest_lines_match_the_soict_format(corpus):
    records = lines(corpus)
    assert len(records) == 24
    for record in records:
        assert tuple(record) == SOICT_KEYS
        assert record["intent"] in SOICT_INTENTS
        assert record["file"] == f"{record['id']}.wav" and re.fullmatch(r"[0-9a-f]{24}", record["id"])


def test_annotation_and_entities_agree_with_sentence(corpus):
    for record in lines(corpus):
        annotation = record["sentence_annotation"]
        spans = re.findall(r"\[ ([^:\]]+) : ([^\]]+) \]", annotation)
        assert [{"type": t, "filler": f} for t, f in spans] == record["entities"]
        assert re.sub(r"\[ [^:\]]+ : ([^\]]+) \]", r"\1", annotation) == record["sentence"]
        for entity in record["entities"]:
            assert entity["type"] in SOICT_ENTITY_TYPES and entity["filler"] in record["sentence"]


def test_wavs_are_16khz_mono_pcm16_and_not_silent(corpus):
    for record in lines(corpus):
        info = sf.info(str(corpus / "audio" / record["file"]))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        audio, _ = sf.read(str(corpus / "audio" / record["file"]))
        assert 0.5 < len(audio) / 16000 < 15 and abs(audio).max() > 0.1


def test_same_seed_gives_byte_identical_corpus_whatever_the_workers(corpus, tmp_path):
    write_corpus(tmp_path, 24, seed=7, workers=1)
    assert (tmp_path / "manifest.jsonl").read_bytes() == (corpus / "manifest.jsonl").read_bytes()
    for record in lines(corpus):
        assert (tmp_path / "audio" / record["file"]).read_bytes() == (corpus / "audio" / record["file"]).read_bytes()


def test_templates_cover_every_intent_and_entity_type(tmp_path):
    records, jobs = plan(tmp_path, 600, seed=1, decomposed_rate=0.05)
    assert {r["intent"] for r in records} == set(SOICT_INTENTS)
    assert {e["type"] for r in records for e in r["entities"]} == set(SOICT_ENTITY_TYPES)
    decomposed = [r for r in records if r["sentence"] != unicodedata.normalize("NFC", r["sentence"])]
    assert decomposed, "some lines are written decomposed, like the real corpus"
    # The speech says exactly the verbalised transcript.
    spoken = [normalize(r["sentence"], numbers="verbalize") for r in records]
    assert [j.speech_text for j in jobs] == spoken


def test_interrupted_or_enlarged_corpus_is_completed_not_remade(tmp_path):
    write_corpus(tmp_path, 4, seed=5, workers=1)
    wavs = sorted((tmp_path / "audio").glob("*.wav"))
    kept = {p.name: p.stat().st_mtime_ns for p in wavs[1:]}
    first = wavs[0].read_bytes()
    wavs[0].unlink()  # as if the run had died before writing it
    write_corpus(tmp_path, 6, seed=5, workers=1)
    assert wavs[0].read_bytes() == first
    assert all((tmp_path / "audio" / name).stat().st_mtime_ns == mtime for name, mtime in kept.items())
    assert len(lines(tmp_path)) == 6 and not list((tmp_path / "audio").glob("*.partial"))
