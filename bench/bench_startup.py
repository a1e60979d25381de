"""What every command pays before doing anything: the CPU of ``mydiscover --help`` and of
``mydiscover status`` (on an empty database) beside ``python -c "import typer, rich"``, the
floor any typer + rich command line pays, measured in the same run.

CPU (user + system of the child), not wall time: the machines are shared. Each command runs
once untimed (so its bytecode is cached, as in a user's install), then ``--repeat`` times,
interleaved; the medians and their ratio to the reference are printed.
Figure to reach (issue 17): both under 2x the reference.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import REPO_ROOT, add_common_arguments, cli_environment, print_table, verdict

TARGET_RATIO = 2.0


def child_cpu(command: list[str], env: dict[str, str]) -> float:
    """The CPU seconds (user + system) one run of ``command`` took."""
    # (getrusage, not os.times: the latter counts in clock ticks of 10 ms, a sixth of the
    # reference)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"$ {' '.join(command)}\n{done.stderr}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    """Measure and print the table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, repeat_default=15, repeat_help="runs of each command",
                         json_help="print the figures as JSON")  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        env = cli_environment(Path(scratch) / "config")
        env["MYDISCOVER_DB"] = str(Path(scratch) / "db.sqlite")
        env["PYTHONPATH"] = str(REPO_ROOT)
        # As a user's install runs: with its modules' bytecode cached (pip compiles an
        # installed package's; a clone writes __pycache__ at its first run). A machine that
        # sets PYTHONDONTWRITEBYTECODE would make every run compile mydiscover from source
        # (50 ms) while the reference's packages have theirs.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        commands = {
            "reference: import typer, rich": [sys.executable, "-c", "import typer, rich"],
            "mydiscover --help": [sys.executable, "-m", "mydiscover", "--help"],
            "mydiscover status": [sys.executable, "-m", "mydiscover", "status"],
        }
        subprocess.run([sys.executable, "-c", "import sys; from mydiscover.db import "
                        "open_database; open_database(__import__('pathlib').Path(sys.argv[1]))"
                        ".close()", env["MYDISCOVER_DB"]], env=env, check=True)  # fmt: skip
        for command in commands.values():  # once untimed: the bytecode is written
            child_cpu(command, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, command in commands.items():
                times[name].append(child_cpu(command, env))
    medians = {name: statistics.median(values) for name, values in times.items()}
    reference = medians["reference: import typer, rich"]
    ratios = {name: median / reference for name, median in medians.items()}
    if args.json:
        print(json.dumps({"median_cpu_seconds": medians, "ratio": ratios,
                          "target_ratio": TARGET_RATIO}))  # fmt: skip
        return
    rows = [
        [name, f"{medians[name] * 1000:.0f} ms", f"{ratios[name]:.2f}x",
         "" if name.startswith("reference") else verdict(ratios[name] < TARGET_RATIO)]
        for name in commands
    ]  # fmt: skip
    print_table(rows, ["command", "median CPU", "vs reference", f"< {TARGET_RATIO:g}x"], {1, 2})


if __name__ == "__main__":
    main()
