"""What the tests share besides fixtures: the CLI as a subprocess, scans through the library
API, generated audio whose answers are known, and recorders of progress."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile

from mydiscover.audio.descriptors import SAMPLE_RATE
from mydiscover.library.scan import ScanReport, scan_library
from mydiscover.library.walk import normalize_root
from tests.library_factory import tag

#: The signals' sample rate (the analysis's own).
SR = SAMPLE_RATE
#: The rate test files are written at.
FILE_RATE = 44_100


def scan(conn, *roots: Path | bytes, jobs: int | None = None) -> ScanReport:
    """Scan the given roots into ``conn`` through the library API."""
    return scan_library(conn, [normalize_root(root) for root in roots], jobs=jobs)


def tracks(conn) -> dict[bytes, dict]:
    """Every track row as a dict, keyed by raw path."""
    cursor = conn.execute("SELECT * FROM tracks")
    names = [column[0] for column in cursor.description]
    return {row[1]: dict(zip(names, row, strict=True)) for row in cursor}


def run_cli(env: dict[str, str], *args: str | bytes, **kwargs) -> subprocess.CompletedProcess:
    """Run ``python -m mydiscover ARGS`` and capture its output as text."""
    return subprocess.run(
        [sys.executable, "-m", "mydiscover", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def interruptible_child() -> None:
    """``preexec_fn`` for a child a test will Ctrl-C: a shell's background job (``cmd &``)
    starts with SIGINT ignored, and Python then keeps ignoring it; restore the default, as an
    interactive terminal would have it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class RecordingProgress:
    """An ImportProgress that remembers every call."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def start(self, total, unit) -> None:
        self.calls.append(("start", total, unit))

    def advance(self, done, listens) -> None:
        self.calls.append(("advance", done, listens))


def click_track(bpm: float, seconds: float = 30.0) -> np.ndarray:
    """A drum-like hit on every beat, the first of each bar louder."""
    audio = np.zeros(int(seconds * SR), np.float32)
    length = int(0.05 * SR)
    t = np.arange(length) / SR
    hit = np.exp(-t / 0.01) * (np.sin(2 * np.pi * 150 * t) + 0.5 * np.sin(2 * np.pi * 1200 * t))
    beat, moment = 0, 0.0
    while moment < seconds - 0.1:
        start = int(moment * SR)
        audio[start : start + length] += hit * (1.0 if beat % 4 == 0 else 0.8)
        moment += 60.0 / bpm
        beat += 1
    return audio * 0.5


def chord(root: int, quality: str, seconds: float = 2.0) -> np.ndarray:
    """A triad with harmonics and a bass note an octave below its root."""
    intervals = {"maj": (0, 4, 7), "min": (0, 3, 7)}[quality]
    base = 261.63 * 2 ** (root / 12)
    t = np.arange(int(seconds * SR)) / SR
    audio = np.zeros_like(t)
    for frequency in [base * 2 ** (i / 12) for i in intervals] + [base / 2]:
        for harmonic, weight in ((1, 1.0), (2, 0.5), (3, 0.3), (4, 0.2)):
            audio += weight * np.sin(2 * np.pi * frequency * harmonic * t)
    envelope = np.minimum(1, np.minimum(t / 0.02, (seconds - t) / 0.05))
    return (0.1 * audio * envelope).astype(np.float32)


def progression(tonic: int, scale: str) -> np.ndarray:
    """I-vi-IV-V in major, i-iv-V-i in minor, three times."""
    steps = (
        [(0, "maj"), (9, "min"), (5, "maj"), (7, "maj")]
        if scale == "major"
        else [(0, "min"), (5, "min"), (7, "maj"), (0, "min")]
    )
    return np.concatenate([chord((tonic + s) % 12, q) for _ in range(3) for s, q in steps])


def write_music(path: Path, audio: np.ndarray, **tags) -> Path:
    """Write ``audio`` (44.1 kHz mono) in blocks, then tag it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with soundfile.SoundFile(path, "w", FILE_RATE, 1) as handle:
        for start in range(0, len(audio), FILE_RATE):
            handle.write(audio[start : start + FILE_RATE])
    return tag(path, **tags) if tags else path


def stored_analyses(db_path: Path) -> int:
    """How many tracks have an analysis (or a recorded failure) in the database."""
    with sqlite3.connect(db_path, timeout=5) as reader:
        return reader.execute("SELECT count(*) FROM track_audio").fetchone()[0]
