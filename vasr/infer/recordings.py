"""What the commands that transcribe recordings share (``vasr-transcribe``, ``vasr-slu``): the recordings named on
the command line (files, folders, manifests) and the transcriber of a model argument."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from vasr.decoding.config import DecodeConfig
from vasr.decoding.ctc import CTCDecoding
from vasr.infer.transcriber import Transcriber
from vasr.model.export import load_features, load_for_inference, model_folder

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".au"}


@dataclass(frozen=True)
class Source:
    """One recording to transcribe, or (``error`` set) an entry that names none: a bad manifest line, a path
    that does not exist."""

    path: Path
    error: str | None = None
    duration: float | None = None  # a manifest's, when it gives one


def audio_files(sources: list[str], audio_dir: str | None = None) -> list[Source]:
    """Files as given, folders searched for audio, manifests read for their ``file`` entries (``file:line``
    named for a line that is not a JSON object with one)."""
    found: list[Source] = []
    for source in map(Path, sources):
        if source.is_dir():
            found += [Source(p) for p in sorted(source.rglob("*")) if p.suffix.lower() in AUDIO_SUFFIXES]
        elif not source.exists():
            found.append(Source(source, "no such file or folder"))
        elif source.suffix == ".jsonl":
            root = Path(audio_dir) if audio_dir else source.parent
            for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
                if line.strip():
                    found.append(manifest_entry(source, number, line, root))
        else:
            found.append(Source(source))
    return found


def manifest_entry(manifest: Path, number: int, line: str, root: Path) -> Source:
    try:
        record = json.loads(line)
        return Source(root / record["file"], duration=record.get("duration"))
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        reason = "not JSON" if isinstance(error, json.JSONDecodeError) else 'no "file" entry'
        return Source(Path(f"{manifest}:{number}"), f"{reason}: {line[:60]}")


def transcriber_for(model: str, decode: DecodeConfig, device: str = "auto", **cutting) -> Transcriber:
    """The :class:`Transcriber` of an export folder, ``.ckpt`` or hub id, decoding as ``decode`` says (``lm=auto``:
    the folder's own n-gram); ``cutting``: the Transcriber's other settings (chunks, batches, workers, VAD)."""
    folder = model_folder(model)
    network, tokenizer = load_for_inference(folder or model)
    decoding = CTCDecoding.from_config(decode, tokenizer, model_dir=folder)
    features = load_features(folder or model, network.config)
    return Transcriber(network, decoding, device=device, features=features, **cutting)
