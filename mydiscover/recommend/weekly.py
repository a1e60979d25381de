"""Making the weekly: candidates, signals, blend, rules, order, reasons; and storing it."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mydiscover.db.listens import History
from mydiscover.db.weekly import StoredPick, banned_tracks, recent_picks, store_weekly
from mydiscover.recommend.blend import SIGNALS, Blend, fuse
from mydiscover.recommend.library import Library
from mydiscover.recommend.order import camelot, flowing_order
from mydiscover.recommend.rules import Rules, candidate_mask, choose
from mydiscover.recommend.signals import Signal, audio_signal, cf_signals, text_signal

#: A signal gives its reason for a pick it rates this many standard deviations above its
#: average (about its top sixth), or that it leads: a track it barely likes is not "because"
#: of it.
REASON_Z = 1.0
#: Why a signal could not be computed, for the one line that says it was left out.
MISSING = {
    "cf": "no CF model, or none of your artists in it ('mydiscover cf fit')",
    "text": "no terms, or none for your artists ('mydiscover reviews crawl', 'mydiscover terms')",
    "audio": "no analysed track that you play ('mydiscover analyze')",
}


@dataclass
class Pick:
    """One track of the weekly, with why."""

    row: int
    track_id: int
    score: float
    lead: str | None
    reasons: dict[str, str]


@dataclass
class Weekly:
    """A weekly playlist, in listening order."""

    week: str
    seed: int
    picks: list[Pick]
    signals: dict[str, int]  # signal -> tracks it scored
    weights: dict[str, float]
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The playlist's name: "Discover Weekly 2026-W48"."""
        return f"Discover Weekly {self.week}"


def iso_week(when: dt.datetime) -> str:
    """The ISO week of ``when``: "2026-W48"."""
    year, week, _ = when.isocalendar()
    return f"{year}-W{week:02d}"


def week_seed(week: str, user: str) -> int:
    """The week's seed: the same for the same user and week, another next week."""
    return int.from_bytes(hashlib.sha256(f"{user}\0{week}".encode()).digest()[:4], "big")


def compute_signals(
    conn: sqlite3.Connection,
    library: Library,
    history: History,
    model: object | None,
    seed: int,
    use: frozenset[str] = frozenset(SIGNALS),
) -> list[Signal]:
    """Every signal that can be computed now (and is in ``use``)."""
    signals: list[Signal] = []
    if use & {"cf", "cold"}:
        signals += [s for s in cf_signals(conn, model, history, library) if s.name in use]
    if "text" in use and (text := text_signal(conn, history, library)) is not None:
        signals.append(text)
    if "audio" in use and (audio := audio_signal(history, library, seed)) is not None:
        signals.append(audio)
    return signals


def make_weekly(
    conn: sqlite3.Connection,
    library: Library,
    history: History,
    model: object | None,
    *,
    week: str,
    user: str = "",
    now: int,
    rules: Rules | None = None,
    blend: Blend | None = None,
    within: set[int] | None = None,
) -> Weekly:
    """This week's playlist from the stored history and models (see the package's modules);
    ``blend``: the signals' weights (None: learned from the history, else the defaults);
    ``within``: only these track ids may be picked (a beets query)."""
    rules = rules or Rules()
    seed = week_seed(week, user)
    excluded = banned_tracks(conn) | recent_picks(conn, week, rules.recent_weeks)
    candidates = candidate_mask(library, history, excluded, rules, now)
    if within is not None:
        candidates &= np.isin(library.ids, np.fromiter(within, dtype=np.int64))
    notes: list[str] = []
    if blend is None:
        from mydiscover.recommend.learn import blend_for

        learned = blend_for(conn, library, model, now=now, rules=rules, seed=seed)
        blend = learned.blend
        notes.append(learned.note)
    signals = compute_signals(conn, library, history, model, seed)
    fused = fuse(signals, blend, candidates, len(library))
    known = {artist.key for artist in history.artists}
    chosen = choose(library, fused.scores, candidates, known, rules, seed)
    present = {signal.name for signal in signals}
    notes += [f"{name} left out: {why}" for name, why in MISSING.items() if name not in present]
    if not signals:
        notes.append("no signal yet: the picks are random")
    keys = [camelot(library.keys[r], library.scales[r]) for r in chosen]
    order = flowing_order([float(library.bpm[r]) for r in chosen], keys,
                          [library.artist_keys[r] for r in chosen])  # fmt: skip
    by_name = {signal.name: signal for signal in signals}
    picks = []
    for index in order:
        row = chosen[index]
        lead = fused.lead(row)
        reasons = {
            name: reason
            for name in SIGNALS
            if name in fused.normal
            and (fused.normal[name][row] >= REASON_Z or lead == name)
            and (reason := by_name[name].explain(row))
        }  # fmt: skip
        if not reasons:  # a pick no signal rates highly (a small library): its best one says
            judging = [n for n in fused.normal if not np.isnan(fused.normal[n][row])]
            for name in sorted(judging, key=lambda n: -fused.normal[n][row]):
                if reason := by_name[name].explain(row):
                    reasons = {name: reason}
                    break
        score = float(fused.scores[row])
        picks.append(Pick(row, int(library.ids[row]), 0.0 if score != score else score, lead,
                          reasons))  # fmt: skip
    notes.append(blend.described())
    return Weekly(week, seed, picks, {s.name: len(s.rows) for s in signals}, dict(blend.weights),
                  notes)  # fmt: skip


def save_weekly(conn: sqlite3.Connection, weekly: Weekly, now: int) -> None:
    """Store the weekly, so the next ones avoid repeating it and feedback can be measured."""
    picks = [
        StoredPick(position, pick.track_id, pick.score, pick.lead, pick.reasons)
        for position, pick in enumerate(weekly.picks, start=1)
    ]
    signals: dict[str, Any] = {"scored": weekly.signals, "weights": weekly.weights}
    store_weekly(conn, weekly.week, now, weekly.seed, signals, picks)
