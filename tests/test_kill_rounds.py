"""A short run of the kill rounds (bench/kill_rounds.py): one round of each long command,
stopped by a signal at a random moment, then checked and resumed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "kill_rounds.py"


def test_every_long_command_survives_a_random_kill_and_resumes() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--rounds", "7", "--tracks", "8", "--seed", "13"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "7 rounds, 0 with a problem" in done.stdout
