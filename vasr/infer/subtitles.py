"""Word-timed transcripts as SubRip (.srt) or WebVTT cues."""

from __future__ import annotations

from vasr.infer.transcriber import Transcript, Word


def cues(words: list[Word], max_seconds: float = 6.0, max_words: int = 12, pause: float = 0.6) -> list[list[Word]]:
    """Words grouped into cues: a new cue after a pause, or when one grows too long."""
    groups: list[list[Word]] = []
    for word in words:
        current = groups[-1] if groups else None
        if (
            current is None
            or word.start - current[-1].end > pause
            or word.end - current[0].start > max_seconds
            or len(current) >= max_words
        ):
            groups.append([word])
        else:
            current.append(word)
    return groups


def timestamp(seconds: float, separator: str) -> str:
    """HH:MM:SS,mmm (SRT) or HH:MM:SS.mmm (VTT)."""
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def shown(word: Word, mark_below: float | None) -> str:
    """A cue's word, in italics (``<i>``, which SRT players and WebVTT both read) when less sure than ``mark_below``."""
    unsure = mark_below is not None and word.confidence is not None and word.confidence < mark_below
    return f"<i>{word.word}</i>" if unsure else word.word


def render(transcript: Transcript, kind: str, mark_below: float | None = None) -> str:
    """The subtitle document of one recording (its own timeline: a subtitle file belongs to one media file); words
    less sure than ``mark_below`` in italics."""
    separator = "," if kind == "srt" else "."
    lines = ["WEBVTT", ""] if kind == "vtt" else []
    for number, group in enumerate(cues(transcript.words), start=1):
        if kind == "srt":
            lines.append(str(number))
        span = f"{timestamp(group[0].start, separator)} --> {timestamp(group[-1].end, separator)}"
        lines += [span, " ".join(shown(w, mark_below) for w in group), ""]
    return "\n".join(lines)
