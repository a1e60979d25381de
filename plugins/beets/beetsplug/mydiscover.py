"""beets plugin: ``beet discover``, the weekly Discover playlist from your beets library.

Enable it with ``plugins: mydiscover`` in beets' config. The beets library is the catalog (no
separate scan): paths, tags, MusicBrainz IDs, and ``lastfm_play_count`` / ``play_count`` as
listening history. It uses the same database and models as the ``mydiscover`` command.

Config (all optional)::

    mydiscover:
        database: ~/.local/share/mydiscover/mydiscover.db   # default: mydiscover's own
        auto: no        # analyse what 'beet import' adds
        size: 30
        jobs: 0         # analysis worker processes (0: one per core)

``beet discover --analyze [QUERY]`` analyses the items' audio (holding the analysis lock of
``mydiscover analyze``, a line per item on stderr) and stores beets' own ``bpm`` and
``initial_key`` (into the files' tags too when beets' ``import.write`` says so) and typed
flexible attributes (``beet ls bpm:120..130 mydiscover_scale:minor``).
"""

from __future__ import annotations

import os
import sys
from optparse import Values
from pathlib import Path
from typing import TYPE_CHECKING, Any

from beets import ui
from beets.dbcore import types
from beets.library import Item, Library
from beets.plugins import BeetsPlugin

if TYPE_CHECKING:
    from mydiscover.audio.run import AnalysisRun
    from mydiscover.audio.tables import PendingTrack

#: Analysis results shown to beets, as flexible attributes of items.
ATTRIBUTES = {
    "mydiscover_scale": types.STRING,
    "mydiscover_loudness": types.FLOAT,
    "mydiscover_danceability": types.FLOAT,
}


class MydiscoverPlugin(BeetsPlugin):
    """The beets side of mydiscover: a thin adapter over its library, weekly and analysis."""

    item_types = ATTRIBUTES

    def __init__(self) -> None:
        super().__init__()
        self.config.add({"database": "", "auto": False, "size": 30, "jobs": 0})
        if self.config["auto"].get(bool):
            self.register_listener("item_imported", self._imported_item)
            self.register_listener("album_imported", self._imported_album)

    def commands(self) -> list[ui.Subcommand]:
        """``beet discover``."""
        command = ui.Subcommand("discover", help="this week's Discover Weekly playlist")
        parser = command.parser
        parser.usage = "%prog [options] [QUERY]\n\nThe weekly from the items of QUERY " \
            "(default: the whole library); with --analyze, analyse them."  # fmt: skip
        parser.add_option("--analyze", action="store_true", help="analyse the items' audio")
        parser.add_option(
            "--wait", action="store_true", help="with --analyze: wait for another analysis"
        )
        parser.add_option("-n", "--size", type="int", help="tracks (default: 30)")
        parser.add_option("-o", "--output", help="write the playlist to FILE, not stdout")
        parser.add_option("-f", "--format", default="m3u", help="m3u, xspf, jspf or json")
        parser.add_option("--paths", default="absolute", help="absolute, relative, music-root")
        parser.add_option("--explain", action="store_true", help="print the reasons")
        parser.add_option("--week", help="the ISO week (default: this week)")
        parser.add_option(
            "--refresh", action="store_true", help="make this week's weekly anew (else it stays)"
        )
        command.func = self._discover
        return [command]

    # --- the command ---------------------------------------------------------------------

    def _discover(self, lib: Library, opts: Values, args: list[str]) -> None:
        from mydiscover.errors import MydiscoverError

        items = list(lib.items(args))
        try:
            conn = self._catalog(lib, items)
            try:
                if opts.analyze:
                    self._analyze(lib, conn, items, wait=bool(opts.wait))
                elif args and not items:
                    raise ui.UserError(f"no items match {' '.join(args)!r}")
                else:
                    self._weekly(conn, opts, items if args else None)
            finally:
                conn.close()
        except MydiscoverError as error:
            raise ui.UserError(str(error)) from None
        except KeyboardInterrupt as stopped:
            # beets ends a Ctrl-C silently with exit 0: say it, and exit as a shell expects.
            said = str(stopped) or "interrupted"  # the analysis says how far it got
            print(f"discover: {said}; what was analysed so far is kept", file=sys.stderr)
            raise SystemExit(130) from None

    def _weekly(self, conn: Any, opts: Values, only: list[Item] | None) -> None:
        """The weekly from the whole catalog, or only from ``only`` (the items of a query)."""
        from mydiscover.config import load_settings
        from mydiscover.files import write_output
        from mydiscover.library.external import track_ids
        from mydiscover.playlists.write import check_options, render, weekly_entries
        from mydiscover.recommend.rules import Rules
        from mydiscover.recommend.service import weekly_playlist, weekly_user

        size = opts.size or self.config["size"].get(int)
        try:
            check_options(opts.format, opts.paths, bool(opts.output))
        except ValueError as error:
            raise ui.UserError(str(error)) from None
        # A query's weekly is not stored: it must not replace the week's real one.
        within = set(track_ids(conn, [i.path for i in only]).values()) if only is not None else None
        made = weekly_playlist(
            conn, self._database(), week=opts.week, user=weekly_user(load_settings()),
            rules=Rules(size=size), within=within, save=within is None, refresh=opts.refresh,
        )  # fmt: skip
        weekly, entries = made.weekly, weekly_entries(made)
        for warning in weekly.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        for note in weekly.notes:
            self._log.info("{}", note)
        output = Path(opts.output) if opts.output else None
        playlist = render(entries, opts.format, weekly.name, opts.paths,
                          output.parent if output else None, weekly.meta())  # fmt: skip
        for skipped in playlist.skipped:
            print(f"warning: {skipped.message()}", file=sys.stderr)
        write_output(output, playlist.data)  # a MydiscoverError is beets' UserError above
        self._log.info("{}: {} tracks", weekly.name, len(playlist.entries))
        if opts.explain:
            for number, entry in enumerate(playlist.entries, 1):
                print(f"{number:2d}. {entry.artist} - {entry.title}: {entry.explanation()}",
                      file=sys.stderr)  # fmt: skip

    # --- analysis ---------------------------------------------------------------------------

    def _analyze(self, lib: Library, conn: Any, items: list[Item], *, wait: bool = False) -> None:
        """Analyse the items not yet analysed with ``mydiscover analyze``'s runner (its lock,
        worker processes, timeout, each result stored as it comes), a line per item on
        stderr; then give beets the fields."""
        from mydiscover.audio.run import run_analysis
        from mydiscover.library.external import track_ids

        ids = track_ids(conn, [item.path for item in items])
        run = run_analysis(conn, self._database(), _ItemLines(), only=set(ids.values()),
                           jobs=self.config["jobs"].get(int) or None, wait=wait,
                           holder="an analysis (beet discover --analyze)")  # fmt: skip
        self._log.info("analysed {} of the {} items that needed it ({} failed)", run.done,
                       run.pending, len(run.failed))  # fmt: skip
        self._store_attributes(lib, conn, items, ids)

    def _store_attributes(
        self, lib: Library, conn: Any, items: list[Item], ids: dict[bytes, int]
    ) -> None:
        """beets' ``bpm`` and ``initial_key`` ("Am", "F#") and the flexible attributes, in one
        transaction; the files' tags are written only when beets' ``import.write`` says so."""
        rows = {
            row[0]: row[1:]
            for row in conn.execute(
                "SELECT track_id, bpm, key, scale, loudness_lufs, danceability FROM track_audio "
                "WHERE error IS NULL"
            )
        }
        write = ui.should_write()
        with lib.transaction():
            for item in items:
                found = rows.get(ids.get(item.path, -1))
                if found is None:
                    continue
                bpm, key, scale, *rest = found
                if bpm is not None:
                    item["bpm"] = round(bpm)
                if key:
                    item["initial_key"] = key + ("m" if scale == "minor" else "")
                for name, value in zip(ATTRIBUTES, [scale, *rest], strict=True):
                    if value is not None:
                        item[name] = value
                item.try_sync(write=write, move=False)

    def _imported_item(self, lib: Library, item: Item) -> None:
        self._analyze_now(lib, [item])

    def _imported_album(self, lib: Library, album: Any) -> None:
        self._analyze_now(lib, list(album.items()))

    def _analyze_now(self, lib: Library, items: list[Item]) -> None:
        conn = self._catalog(lib, items)
        try:
            self._analyze(lib, conn, items)
        finally:
            conn.close()

    # --- the catalog ------------------------------------------------------------------------

    def _database(self) -> Path:
        from mydiscover.config import load_settings

        given = self.config["database"].get(str)
        return Path(os.path.expanduser(given)) if given else load_settings().database

    def _catalog(self, lib: Library, items: list[Item]) -> Any:
        """Open mydiscover's database and bring the items into its catalog."""
        from mydiscover.db import open_database
        from mydiscover.library.external import ExternalTrack, catalog_external

        conn = open_database(self._database())
        root = os.fsencode(os.path.expanduser(lib.directory))
        catalog_external(conn, [ExternalTrack(item.path, root, item_tags(item)) for item in items])
        return conn


class _ItemLines:
    """The analysis's progress as beets plugins show it: a line per item on stderr."""

    def started(self, pending: int) -> None:
        """Nothing to say before the first item."""

    def stored(self, run: AnalysisRun, track: PendingTrack, error: str | None) -> None:
        """``analysed 3/12: /path/to/file.flac`` (with the reason when it failed)."""
        said = f": {error}" if error else ""
        print(f"analysed {run.done}/{run.pending}: {track.path_text}{said}", file=sys.stderr)


def item_tags(item: Item) -> Any:
    """A beets item as mydiscover's Tags record (play counts: lastfm_play_count, play_count)."""
    from mydiscover.library.tags import Tags

    def text(field: str) -> str | None:
        value = item.get(field)
        return str(value) if value not in (None, "") else None

    def number(field: str) -> int | None:
        value = item.get(field)
        return int(value) if value else None

    plays = number("lastfm_play_count") or number("play_count")
    return Tags(
        format=(item.format or "").lower(), duration=item.length or None,
        bitrate=number("bitrate"), sample_rate=number("samplerate"), channels=number("channels"),
        bits_per_sample=number("bitdepth"), title=text("title"), artist=text("artist"),
        album=text("album"), album_artist=text("albumartist"), track_number=number("track"),
        track_total=number("tracktotal"), disc_number=number("disc"),
        disc_total=number("disctotal"), date=text("year"), year=number("year"),
        genre=text("genre"), mb_recording_id=text("mb_trackid"), mb_release_id=text("mb_albumid"),
        mb_artist_id=text("mb_artistid"), mb_album_artist_id=text("mb_albumartistid"),
        isrc=text("isrc"), rating=None, play_count=plays,
    )  # fmt: skip
