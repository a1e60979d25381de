"""``mydiscover update``: bring every stale stage up to date (what ``weekly`` does first).

In the data flow's order, each stage only does what is new: rescan the music folders; import
new listens from the configured Last.fm / ListenBrainz user; analyse new or changed tracks;
fit the CF model if public data was imported but never fitted, and fold the user in again when
the history changed; ask the review sources about artists and albums never asked about,
rebuild the terms when their documents changed, and learn the weekly's blend from the history
once in 28 days (see :mod:`mydiscover.pipeline`). A stage that
cannot run (no network, no key, no public data) says so in one line, and the rest goes on.
"""

from __future__ import annotations

from mydiscover.cli.common import (
    ConfigOption,
    DbOption,
    OfflineOption,
    StagesWaitOption,
    reported_errors,
    settings_from,
)
from mydiscover.cli.render import refresh_stages


def update(
    offline: OfflineOption = False,
    wait: StagesWaitOption = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Bring every stage up to date: new files scanned, new listens imported, new tracks
    analysed, the CF model fitted or you folded in again, new artists' reviews fetched, the
    terms rebuilt and the weekly's blend learned from your history (once in 28 days). Only
    what is new is done; meant for a timer (see plugins/navidrome/).

    A scan or analysis that another command is running is skipped with a note (--wait waits
    for it instead), and the other stages go on."""
    with reported_errors():
        refresh_stages(settings_from(db, config), offline=offline, wait=wait)
