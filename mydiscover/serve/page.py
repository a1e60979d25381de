"""What the web page shows, read from the database: this week's picks with their reasons and
feedback, the taste map, and the past weeklies' hit rates; the pictures as SVG made here (no
script needed to see them, no build step)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from html import escape
from typing import Any

import numpy as np

from mydiscover.audio.taste_map import taste_map
from mydiscover.config import Settings
from mydiscover.history.tables import feedback_of, played_track_ids
from mydiscover.library.tables import track_labels
from mydiscover.recommend.service import this_week, weekly_playlist, weekly_user
from mydiscover.recommend.tables import DamagedWeekly, load_weekly, weekly_feedback

#: Points the map draws at most (a sample of the rest, the picks and played tracks always).
MAP_POINTS = 4000
MAP_SIZE = 640
#: Colours for the map's most common genres (the rest grey), distinct for colour-blind eyes
#: (Okabe and Ito's palette).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
OTHER = "#9a9a9a"
SIGNAL_COLOURS = {
    "cf": "#0072B2",
    "cold": "#56B4E9",
    "text": "#E69F00",
    "audio": "#009E73",
    "none": OTHER,
    "all": "#222222",
}


@dataclass(frozen=True)
class PickRow:
    """One pick as the page lists it."""

    position: int
    track_id: int
    artist: str
    title: str
    album: str
    duration: str
    lead: str
    reasons: list[tuple[str, str]]
    said: str  # "love", "skip" or "" (a banned pick leaves the week's weekly)

    def to_json(self) -> dict[str, Any]:
        """As ``/api/weekly`` gives it."""
        return {
            "position": self.position,
            "track_id": self.track_id,
            "artist": self.artist,
            "title": self.title,
            "album": self.album,
            "duration": self.duration,
            "lead_signal": self.lead,
            "reasons": dict(self.reasons),
            "feedback": self.said or None,
        }


@dataclass(frozen=True)
class WeekView:
    """This week's weekly as the page shows it."""

    name: str
    blend: str
    picks: list[PickRow]
    notes: list[str]


def this_weeks_picks(conn: sqlite3.Connection, settings: Settings) -> WeekView:
    """This week's weekly (made and stored now if none is, as ``mydiscover weekly`` would)."""
    playlist = weekly_playlist(conn, settings.database, user=weekly_user(settings))
    weekly, library = playlist.weekly, playlist.library
    ids = [pick.track_id for pick in weekly.picks]
    said = {track: kind.value for track, kind in feedback_of(conn, ids).items()}
    picks = []
    for position, pick in enumerate(weekly.picks, start=1):
        seconds = library.durations[pick.row]
        duration = "" if seconds != seconds else f"{int(seconds) // 60}:{int(seconds) % 60:02d}"
        picks.append(
            PickRow(
                position,
                pick.track_id,
                library.artists[pick.row] or "?",
                library.titles[pick.row] or "?",
                library.albums[pick.row] or "",
                duration,
                pick.lead or "",
                list(pick.reasons.items()),
                said.get(pick.track_id, ""),
            )
        )
    notes = [note for note in [*weekly.warnings, *weekly.notes] if note != weekly.blend]
    return WeekView(weekly.name, weekly.blend, picks, notes)


def stored_pick_ids(conn: sqlite3.Connection) -> set[int]:
    """The track ids of this week's stored weekly (none where none is, or it is damaged):
    what the map marks, without making or reading the whole weekly again."""
    try:
        stored = load_weekly(conn, this_week())
    except DamagedWeekly:
        return set()
    return {pick.track_id for pick in stored.picks} if stored else set()


def hit_rates(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Per past weekly: picks, played picks and the hit rate, in all and per lead signal."""
    weeks: dict[str, dict[str, Any]] = {}
    for row in weekly_feedback(conn):
        week = weeks.setdefault(
            row["week"], {"week": row["week"], "picks": 0, "played": 0, "signals": {}}
        )
        week["picks"] += row["picks"]
        week["played"] += row["played"]
        week["signals"][row["signal"]] = {"picks": row["picks"], "played": row["played"]}
    for week in weeks.values():
        week["hit_rate"] = week["played"] / week["picks"] if week["picks"] else 0.0
    return list(weeks.values())


def hit_rate_plot(weeks: list[dict[str, Any]]) -> str:
    """The weeks' hit rates as an SVG line plot: in all, and per lead signal."""
    width, height, margin = 640, 220, 36
    if not weeks:
        return ""
    series: dict[str, list[tuple[int, float]]] = {"all": []}
    for index, week in enumerate(weeks):
        series["all"].append((index, week["hit_rate"]))
        for signal, counts in week["signals"].items():
            if counts["picks"]:
                series.setdefault(signal, []).append((index, counts["played"] / counts["picks"]))
    top = max(0.05, max(rate for points in series.values() for _, rate in points))
    step = (width - 2 * margin) / max(len(weeks) - 1, 1)

    def place(index: int, rate: float) -> str:
        y = height - margin - rate / top * (height - 2 * margin)
        return f"{margin + index * step:.1f},{y:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="Hit rate of past weeklies" class="plot">',
        f'<line x1="{margin}" y1="{height - margin}" x2="{width - margin}" '
        f'y2="{height - margin}" stroke="#888"/>',
        f'<text x="4" y="{margin}" font-size="11">{top:.0%}</text>',
        f'<text x="4" y="{height - margin}" font-size="11">0%</text>',
    ]
    for index, week in enumerate(weeks):
        if len(weeks) <= 12 or index % max(1, len(weeks) // 12) == 0:
            parts.append(
                f'<text x="{margin + index * step:.1f}" y="{height - 12}" font-size="10" '
                f'text-anchor="middle">{escape(week["week"][-3:])}</text>'
            )
    for legend, (signal, points) in enumerate(series.items()):
        colour = SIGNAL_COLOURS.get(signal, OTHER)
        line = " ".join(place(i, r) for i, r in points)
        wide = 3 if signal == "all" else 1.5
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="{wide}" '
            f'points="{line}"><title>{escape(signal)}</title></polyline>'
        )
        for i, rate in points:
            x, y = place(i, rate).split(",")
            parts.append(
                f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"><title>'
                f"{escape(weeks[i]['week'])} {escape(signal)}: {rate:.0%}</title></circle>"
            )
        parts.append(
            f'<text x="{width - margin + 4}" y="{margin + 14 * legend}" font-size="11" '
            f'fill="{colour}">{escape(signal)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def taste_map_svg(conn: sqlite3.Connection, picked: set[int]) -> str:
    """The library on its taste map: a point per track (a sample where there are many),
    coloured by genre, the played tracks ringed and this week's picks as stars; hover names
    the track."""
    made = taste_map(conn)
    if not len(made):
        return ""
    played = played_track_ids(conn)
    if len(played) > MAP_POINTS // 2:  # a long history: an even share of it is ringed
        ordered = sorted(played)
        played = {ordered[i] for i in np.linspace(0, len(ordered) - 1, MAP_POINTS // 2).astype(int)}
    chosen = _sample(made.track_ids, picked | played)
    ids = made.track_ids[chosen]
    rows = track_labels(conn, ids.tolist())
    genres = [rows.get(int(t), ("", "", ""))[2].split(";")[0].strip() for t in ids]
    counts: dict[str, int] = {}
    for genre in genres:
        if genre:
            counts[genre] = counts.get(genre, 0) + 1
    colour_of = {g: PALETTE[i] for i, g in enumerate(sorted(counts, key=lambda g: -counts[g])[:7])}
    size, pad = MAP_SIZE, 12
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size + 160} {size}" '
        f'role="img" aria-label="Taste map" class="map">'
    ]
    for (x, y), track, genre in zip(made.points[chosen], ids.tolist(), genres, strict=True):
        artist, title, _ = rows.get(track, ("?", "?", ""))
        cx, cy = pad + x * (size - 2 * pad), pad + (1 - y) * (size - 2 * pad)
        label = escape(f"{artist} - {title}" + (f" ({genre})" if genre else ""))
        colour = colour_of.get(genre, OTHER)
        if track in picked:
            parts.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="7" fill="{colour}" '
                f'stroke="#000" stroke-width="2" class="pick"><title>this week: {label}'
                "</title></circle>"
            )
        elif track in played:
            parts.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3.5" fill="{colour}" '
                f'stroke="#000" stroke-width="1" class="played"><title>played: {label}'
                "</title></circle>"
            )
        else:
            parts.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="2.5" fill="{colour}" '
                f'fill-opacity="0.6"><title>{label}</title></circle>'
            )
    legend = [*colour_of.items(), ("other", OTHER)]
    for index, (genre, colour) in enumerate(legend):
        parts.append(
            f'<circle cx="{size + 14}" cy="{20 + 18 * index}" r="5" fill="{colour}"/>'
            f'<text x="{size + 24}" y="{24 + 18 * index}" font-size="12">'
            f"{escape(genre)}</text>"
        )
    below = 20 + 18 * len(legend) + 10
    parts.append(
        f'<text x="{size + 8}" y="{below}" font-size="11">ringed: played</text>'
        f'<text x="{size + 8}" y="{below + 16}" font-size="11">large: this week</text>'
        f'<text x="{size + 8}" y="{below + 32}" font-size="11">'
        f"{len(chosen):,} of {len(made):,} tracks</text></svg>"
    )
    return "".join(parts)


def _sample(track_ids: np.ndarray, always: set[int]) -> np.ndarray:
    """Rows of the map to draw: every one of ``always``, and evenly spread others up to
    MAP_POINTS (the same ones on every load)."""
    kept = np.isin(track_ids, np.fromiter(always, dtype=np.int64, count=len(always)))
    room = MAP_POINTS - int(kept.sum())
    others = np.flatnonzero(~kept)
    if room < len(others):
        others = others[np.linspace(0, len(others) - 1, max(room, 0)).astype(np.int64)]
    return np.sort(np.concatenate([np.flatnonzero(kept), others]))
