"""A real Subsonic server (supysonic, from PyPI) on 127.0.0.1, over a generated library."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

USER, PASSWORD = "alice", "s3cret pass"


@dataclass
class Supysonic:
    """The running server: its URL, library folder, and its folder (supysonic reads the
    ``supysonic.conf`` of its working directory)."""

    url: str
    music: Path
    root: Path

    def cli(self, *args: str) -> None:
        """Run supysonic-cli against this server's database."""
        command = [str(Path(sys.executable).parent / "supysonic-cli"), *args]
        done = subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"supysonic-cli {' '.join(args)}: {done.stdout}{done.stderr}")

    def call(self, method: str, **params: str) -> dict:
        """Call the API as the user (password auth) and return the response object."""
        query = {"u": USER, "p": PASSWORD, "v": "1.16.1", "c": "test", "f": "json", **params}
        response = requests.get(f"{self.url}/rest/{method}.view", params=query, timeout=30)
        return response.json()["subsonic-response"] if response.content else {}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_supysonic(root: Path, music: Path) -> Iterator[Supysonic]:
    """Configure supysonic in ``root``, add the user and ``music``, scan it, and serve."""
    pytest.importorskip("supysonic", reason="the Subsonic tests need supysonic")
    config = root / "supysonic.conf"
    config.write_text(
        f"[base]\ndatabase_uri = sqlite:///{root / 'supysonic.db'}\n"
        f"[webapp]\ncache_dir = {root / 'cache'}\nlog_level = WARNING\n"
        f"[daemon]\nsocket = {root / 'daemon.sock'}\nrun_watcher = no\n"
    )
    port = _free_port()
    server = Supysonic(f"http://127.0.0.1:{port}", music, root)
    server.cli("user", "add", USER, "-p", PASSWORD)
    server.cli("user", "setroles", "--admin", USER)
    server.cli("folder", "add", "library", str(music))
    server.cli("folder", "scan", "library")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "supysonic-server"), "-S", "waitress",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if server.call("ping").get("status") == "ok":
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("supysonic did not start")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)
