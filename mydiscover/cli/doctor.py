"""``mydiscover doctor``: check the environment and say what to fix."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mydiscover.cli.common import ConfigOption, DbOption, JsonOption, out, print_json, settings_from
from mydiscover.doctor import run_checks


def doctor(
    offline: Annotated[
        bool, typer.Option("--offline", help="Do not check the configured services.")
    ] = False,
    db: DbOption = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Check the environment: audio libraries, the CNN model, the database, the config file's
    permissions and the configured services; exit 1 when something must be fixed."""
    checks = run_checks(settings_from(db, config), offline=offline)
    if json_output:
        print_json({"checks": [c._asdict() for c in checks]})
    elif not out.is_terminal:  # a log or a pipe: one whole line a check, no table to cut paths
        for check in checks:
            out.print(escape(f"{check.name}: {check.status}: {check.detail}"), highlight=False)
    else:
        table = Table("Check", "Status", "Detail", title="mydiscover doctor", title_justify="left")
        style = {"ok": "green", "warning": "yellow", "problem": "bold red"}
        for check in checks:
            table.add_row(check.name, f"[{style[check.status]}]{check.status}[/]",
                          escape(check.detail))  # fmt: skip
        out.print(table)
    if any(check.status == "problem" for check in checks):
        raise typer.Exit(1)
