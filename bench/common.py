"""Helpers shared by the benchmark scripts in this folder.

The scripts are run by path (``python bench/bench_scan.py``), which puts this folder on
``sys.path``, so they import this module as ``common``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Where the benchmarks keep the data they generate (git ignores it).
CACHE_DIR = REPO_ROOT / "bench" / ".cache"


def add_repo_to_path() -> None:
    """Make the repository root importable (for ``tests`` and an uninstalled ``mydiscover``)."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))


def usable_cores() -> int:
    """How many cores this process may run on (its affinity mask where the OS has one)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return cores or 1


# --- measuring -------------------------------------------------------------------------------


class TreeMemorySampler(threading.Thread):
    """Tracks the peak summed RSS of a process and all its descendants, in a daemon thread.

    Every ``interval`` seconds it adds up the RSS of the process tree; the tree itself is
    re-listed every ``tree_refresh_every`` samples only, since listing it reads all of /proc
    while reading one RSS is cheap (a larger value keeps the sampler off the cores being
    measured, at the cost of noticing new children later). With ``read_hwm`` it also reads the
    kernel's high-water mark of the root process (``VmHWM`` in ``/proc/PID/status``, Linux
    only) at each sample; ``hwm_bytes`` stays None where that cannot be read.

    Call ``start()`` right after starting the process and ``stop()`` once it has exited.
    """

    def __init__(
        self,
        pid: int,
        interval: float,
        *,
        tree_refresh_every: int = 1,
        read_hwm: bool = False,
    ) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.tree_refresh_every = max(1, tree_refresh_every)
        self.read_hwm = read_hwm
        self.peak_bytes = 0
        self.hwm_bytes: int | None = None
        self.samples = 0
        self._stop_event = threading.Event()

    @property
    def peak_mb(self) -> float:
        """The peak summed RSS of the tree, in MiB."""
        return self.peak_bytes / 2**20

    @property
    def hwm_mb(self) -> float | None:
        """The root process's VmHWM in MiB, or None where it was never read."""
        return self.hwm_bytes / 2**20 if self.hwm_bytes is not None else None

    def _read_hwm(self) -> None:
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return
        for line in status.splitlines():
            if line.startswith("VmHWM:"):  # "VmHWM:     48592 kB"
                self.hwm_bytes = max(self.hwm_bytes or 0, int(line.split()[1]) * 1024)

    def run(self) -> None:
        """Sample until ``stop()`` is called or the root process is gone."""
        import psutil

        gone = (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied)
        try:
            root = psutil.Process(self.pid)
        except gone:
            return
        tree: list[psutil.Process] = []
        while not self._stop_event.is_set():
            if self.samples % self.tree_refresh_every == 0:
                try:
                    tree = [root, *root.children(recursive=True)]
                except gone:
                    break
            total = 0
            for process in tree:
                with contextlib.suppress(*gone):
                    total += process.memory_info().rss
            self.peak_bytes = max(self.peak_bytes, total)
            if self.read_hwm:
                self._read_hwm()
            self.samples += 1
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        """Stop sampling and wait for the thread to end."""
        self._stop_event.set()
        self.join()


# --- running the CLI -------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasuredRun:
    """One finished subprocess: wall seconds, peak tree RSS (MiB), and its output."""

    seconds: float
    peak_mb: float
    stdout: str
    stderr: str


def measured_run(
    command: Sequence[str],
    env: dict[str, str] | None = None,
    *,
    cwd: Path | None = None,
    interval: float = 0.05,
) -> MeasuredRun:
    """Run ``command``, timing it and sampling its whole tree's RSS (and the kernel's
    high-water mark); exits with the command's output if it fails."""
    started = time.perf_counter()
    process = subprocess.Popen(
        list(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        cwd=cwd,
    )  # fmt: skip
    sampler = TreeMemorySampler(process.pid, interval, read_hwm=True)
    sampler.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    sampler.stop()
    if process.returncode != 0:
        raise SystemExit(failure_report(command, process.returncode, stdout, stderr))
    return MeasuredRun(seconds, max(sampler.peak_mb, sampler.hwm_mb or 0.0), stdout, stderr)


def cli_environment(config_home: Path) -> dict[str, str]:
    """The environment for the CLI: no MYDISCOVER_* overrides, no user config file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYDISCOVER_")}
    env["XDG_CONFIG_HOME"] = str(config_home)
    return env


def failure_report(command: Sequence[str], exit_status: int, stdout: str, stderr: str) -> str:
    """The message for a failed command: the command line, its exit status and its output."""
    return (
        f"$ {' '.join(command)}\nexit status {exit_status}\n"
        f"--- stdout ---\n{stdout}--- stderr ---\n{stderr}"
    )


# --- the report ------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    """``PASS`` or ``FAIL``."""
    return "PASS" if ok else "FAIL"


def print_table(
    rows: Sequence[Sequence[str]],
    header: Sequence[str],
    right_aligned_columns: set[int] | frozenset[int] = frozenset(),
) -> None:
    """Print ``rows`` under ``header`` as a plain-text table, columns two spaces apart.

    Columns are as wide as their widest cell; those whose index is in
    ``right_aligned_columns`` are right-aligned, the others left-aligned.
    """
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [
            cell.rjust(widths[i]) if i in right_aligned_columns else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        return "  ".join(cells).rstrip()

    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


# --- the command line ------------------------------------------------------------------------


def add_common_arguments(
    parser: argparse.ArgumentParser,
    *,
    repeat_default: int,
    repeat_help: str,
    json_help: str,
) -> None:
    """Add the options every benchmark has: ``--repeat N`` and ``--json``."""
    parser.add_argument(
        "--repeat",
        type=int,
        default=repeat_default,
        help=f"{repeat_help} (default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help=json_help)


def cache_folder(given: Path | None, name: str) -> Path:
    """``given`` (a ``--library`` / ``--cache`` option), or ``bench/.cache/NAME``; absolute."""
    return (given if given is not None else CACHE_DIR / name).resolve()
