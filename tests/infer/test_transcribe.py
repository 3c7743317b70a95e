"""python -m vasr.infer.transcribe on a folder as users have them: rates, channels, a long file, broken files."""

import json
import os
import re
import signal
import sys

import jiwer
import numpy as np
import pytest
import soundfile as sf
import soxr

from tests.e2e.test_train import finish, launch
from tests.waiting import complete_lines, poll
from vasr import ASSETS
from vasr.audio import SAMPLE_RATE, load_audio
from vasr.data.manifest import read_manifest
from vasr.decoding.ctc import greedy_transcripts
from vasr.infer.posteriors import posteriors
from vasr.infer.subtitles import render
from vasr.infer.transcribe import main, speaks_numbers
from vasr.infer.transcriber import Transcript, Word
from vasr.model.export import load_for_inference

MODEL = str(ASSETS / "vasr-tiny-vi")


@pytest.fixture(scope="module")
def recordings(corpus, tmp_path_factory):
    """A folder of five files, and the references of the long one's parts."""
    folder = tmp_path_factory.mktemp("recordings")
    items, _ = read_manifest(corpus / "manifest.jsonl", corpus / "audio", numbers="verbalize")
    first = load_audio(items[0].path)
    sf.write(folder / "a_mono16k.wav", first, SAMPLE_RATE)
    stereo = soxr.resample(load_audio(items[1].path), SAMPLE_RATE, 44100)
    sf.write(folder / "b_stereo44k.wav", np.stack([stereo, 0.8 * stereo], axis=1), 44100)
    pause = np.zeros(int(0.4 * SAMPLE_RATE), np.float32)
    parts, total = [], 0.0
    while total < 90:
        for item in items:
            if total >= 90:
                break
            parts.append(item)
            total += item.duration + 0.4
    sf.write(
        folder / "c_long.wav", np.concatenate([x for i in parts for x in (load_audio(i.path), pause)]), SAMPLE_RATE
    )
    (folder / "d_empty.wav").write_bytes(b"")
    (folder / "e_not_audio.wav").write_text("this is not audio\n")
    return folder, items, parts


def test_three_transcripts_two_named_errors_and_the_exit_status(recordings, tmp_path):
    folder, items, parts = recordings
    out = tmp_path / "out.jsonl"
    command = [MODEL, str(folder), "--out", str(out), "--chunk-seconds", "10", "--context-seconds", "2", "--no-itn"]
    command += ["--vad", "energy"]
    assert main(command) == 2
    rows = {json.loads(line)["file"].split("/")[-1]: json.loads(line) for line in out.read_text().splitlines()}
    assert set(rows) == {"a_mono16k.wav", "b_stereo44k.wav", "c_long.wav", "d_empty.wav", "e_not_audio.wav"}
    assert "error" in rows["d_empty.wav"] and "error" in rows["e_not_audio.wav"]
    model, tokenizer = load_for_inference(MODEL)
    log_probs, _ = posteriors(model, tokenizer, items[:2])
    expected = greedy_transcripts(tokenizer, log_probs)  # as evaluate.py reads the corpus's own files
    assert rows["a_mono16k.wav"]["text"] == expected[0]
    stereo = rows["b_stereo44k.wav"]["text"]  # resampled twice on its way: close, not equal
    assert jiwer.cer(items[1].text, stereo) <= jiwer.cer(items[1].text, expected[1]) + 0.05
    for name, item in (("a_mono16k.wav", items[0]), ("b_stereo44k.wav", items[1])):
        assert rows[name]["duration"] == pytest.approx(item.duration, abs=0.01)
    long = rows["c_long.wav"]
    assert long["duration"] >= 90
    starts = [w["start"] for w in long["words"]]
    assert starts == sorted(starts) and all(0 <= w["start"] <= w["end"] <= long["duration"] for w in long["words"])
    assert " ".join(w["word"] for w in long["words"]) == long["text"]

    one_by_one = tmp_path / "parts.jsonl"
    main([MODEL, *[p.path for p in parts], "--out", str(one_by_one), "--no-itn", "--vad", "energy"])
    hyps = [json.loads(line)["text"] for line in one_by_one.read_text().splitlines()]
    references = [p.text for p in parts]
    mean_of_parts = np.mean([jiwer.wer(ref, hyp) for ref, hyp in zip(references, hyps, strict=True)])
    assert abs(jiwer.wer(" ".join(references), long["text"]) - mean_of_parts) <= 0.02


def test_srt_output_parses(recordings, tmp_path):
    folder, _, _ = recordings
    out = tmp_path / "out.srt"
    main([MODEL, str(folder / "c_long.wav"), "--format", "srt", "--out", str(out)])
    blocks = out.read_text().strip().split("\n\n")
    stamp = r"(\d\d):(\d\d):(\d\d),(\d\d\d)"
    previous = -1.0
    for number, block in enumerate(blocks, start=1):
        index, span, text = block.split("\n")
        match = re.fullmatch(rf"{stamp} --> {stamp}", span)
        assert int(index) == number and match and text.strip()
        h1, m1, s1, ms1, h2, m2, s2, ms2 = map(int, match.groups())
        start, end = h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000
        assert previous <= start <= end
        previous = end
    assert len(blocks) > 5


def test_the_written_form_keeps_a_number_in_one_word_and_one_cue():
    spoken = ["tăng", "lên", "bảy", "mươi", "ba", "phần", "trăm", "nhé"]
    words = [Word(w, round(0.3 * i, 3), round(0.3 * i + 0.2, 3)) for i, w in enumerate(spoken)]
    written = Transcript("x.wav", " ".join(spoken), 3.0, words).written()
    assert written.text == "tăng lên 73% nhé"
    assert written.words[2] == Word("73%", 0.6, 2.0)  # from "bảy" starting to "trăm" ending
    assert render(written, "srt").splitlines()[2] == "tăng lên 73% nhé"
    assert speaks_numbers(load_for_inference(MODEL)[1].get_vocab())  # the shipped model: ITN on by default


def test_missing_things_and_bad_lines_are_named_and_the_rest_go_on(recordings, tmp_path):
    folder, _, _ = recordings
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"file": str(folder / "a_mono16k.wav")}) + "\n{not json\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main([MODEL, str(manifest), str(tmp_path / "gone.wav"), "--out", str(out)]) == 2
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert "text" in rows[0] and rows[1]["file"].endswith("m.jsonl:2") and "not JSON" in rows[1]["error"]
    assert "no such file" in rows[2]["error"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([MODEL, str(empty)]) == 2  # nothing to transcribe: said, not "0 transcribed"
    assert main([str(tmp_path / "no-model"), str(folder / "a_mono16k.wav")]) == 2


def test_several_recordings_get_one_subtitle_file_each(recordings, tmp_path):
    folder, _, _ = recordings
    files = [str(folder / "a_mono16k.wav"), str(folder / "b_stereo44k.wav")]
    assert main([MODEL, *files, "--format", "vtt", "--out", str(tmp_path / "subs")]) == 0
    assert sorted(p.name for p in (tmp_path / "subs").iterdir()) == ["a_mono16k.vtt", "b_stereo44k.vtt"]
    with pytest.raises(SystemExit):
        main([MODEL, *files, "--format", "srt"])  # several timelines into one stream: refused
    with pytest.raises(SystemExit):
        main([MODEL, files[0], "--greedy", "--hotword", "quạt"])  # greedy has no beam to bias


def transcribe_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "vasr.infer.transcribe", MODEL, *args, "--vad", "energy", "--no-itn"]


def test_resume_after_a_kill_mid_run_writes_every_file_once_as_an_uninterrupted_run_does(corpus, tmp_path):
    audio = [str(p) for p in sorted((corpus / "audio").iterdir())] * 3  # a file listed twice is transcribed twice
    whole, cut = tmp_path / "whole.jsonl", tmp_path / "cut.jsonl"
    finish(launch(transcribe_command(*audio, "--out", str(whole), "--plan-seconds", "5")), timeout=600)
    doomed = launch(transcribe_command(*audio, "--out", str(cut), "--plan-seconds", "5"))
    poll(lambda: len(complete_lines(cut)) >= 3, "three lines written", 300, doomed)
    if doomed.poll() is None:
        os.killpg(doomed.pid, signal.SIGKILL)
    doomed.communicate()
    cut.write_bytes(cut.read_bytes() + '{"file": "tắ'.encode()[:-1])  # a line torn inside a character
    before = len(complete_lines(cut))
    resumed = finish(launch(transcribe_command(*audio, "--out", str(cut), "--plan-seconds", "5", "--resume")))
    assert cut.read_text(encoding="utf-8") == whole.read_text(encoding="utf-8")
    assert f"{before} files already written" in " ".join(resumed.stderr.split())
    other = tmp_path / "other.jsonl"
    other.write_text('{"file": "elsewhere.wav", "text": ""}\n', encoding="utf-8")
    refused = launch(transcribe_command(*audio, "--out", str(other), "--resume"))
    assert refused.wait(timeout=300) == 2 and "not this command's output" in " ".join(refused.stderr.read().split())


def test_two_ranks_under_torchrun_share_the_files_and_rank_0_joins_them_in_input_order(corpus, tmp_path):
    audio = [str(p) for p in sorted((corpus / "audio").iterdir())]
    alone, joined = tmp_path / "alone.jsonl", tmp_path / "joined.jsonl"
    finish(launch(transcribe_command(*audio, "--out", str(alone))), timeout=600)
    ranks = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    result = finish(launch([*ranks, *transcribe_command(*audio, "--out", str(joined))[1:]]), timeout=600)
    assert joined.read_text(encoding="utf-8") == alone.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alone.jsonl", "joined.jsonl"]  # the shares joined, gone
    said = " ".join(result.stderr.split())
    assert "rank 0 of 2" in said and "rank 1 of 2" in said
