"""Making the weekly: candidates, signals, blend, rules, order, reasons; and storing it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from mydiscover.history.tables import History, skipped_since
from mydiscover.recommend.blend import SIGNALS, Blend, default_blend, fuse, parse_weights
from mydiscover.recommend.library import Library
from mydiscover.recommend.order import camelot, flowing_order
from mydiscover.recommend.rules import Rules, candidate_mask, choose
from mydiscover.recommend.signals import (
    Signal,
    SignalName,
    audio_signal,
    cf_known_share,
    cf_signals,
    text_signal,
)
from mydiscover.recommend.tables import (
    DamagedWeekly,
    StoredPick,
    StoredWeekly,
    banned_tracks,
    recent_picks,
    store_weekly,
)

if TYPE_CHECKING:
    from mydiscover.cf.store import FittedModel

#: A signal gives its reason for a pick it rates this many standard deviations above its
#: average (about its top sixth), or that it leads: a track it barely likes is not "because"
#: of it.
REASON_Z = 1.0
#: Why a signal could not be computed, for the one line that says it was left out.
MISSING = {
    SignalName.CF: "no CF model, or none of your artists in it ('mydiscover cf fit')",
    SignalName.TEXT: "no terms, or none for your artists ('mydiscover reviews crawl', "
    "'mydiscover terms')",
    SignalName.AUDIO: "no analysed track that you play ('mydiscover analyze')",
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
    warnings: list[str] = field(default_factory=list)
    blend: str = ""  # the blend in use and where it came from (Blend.described)
    made_at: int = 0  # UTC seconds: when it was made (a kept weekly: when it first was)

    @property
    def name(self) -> str:
        """The playlist's name: "Discover Weekly 2026-W48"."""
        return f"Discover Weekly {self.week}"

    def meta(self) -> dict[str, object]:
        """What a playlist file says of the weekly besides its tracks (render's ``meta``)."""
        made = dt.datetime.fromtimestamp(self.made_at, dt.timezone.utc)
        return {"week": self.week, "date": made.isoformat(timespec="seconds"),
                "signals": self.signals, "weights": self.weights}  # fmt: skip


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
    model: FittedModel | None,
    seed: int,
    use: frozenset[str] = frozenset(SIGNALS),
) -> list[Signal]:
    """Every signal that can be computed now (and is in ``use``)."""
    signals: list[Signal] = []
    if use & {SignalName.CF, SignalName.COLD}:
        signals += [s for s in cf_signals(conn, model, history, library) if s.name in use]
    if SignalName.TEXT in use and (text := text_signal(conn, history, library)) is not None:
        signals.append(text)
    if SignalName.AUDIO in use and (audio := audio_signal(history, library, seed)) is not None:
        signals.append(audio)
    return signals


def make_weekly(
    conn: sqlite3.Connection,
    library: Library,
    history: History,
    model: FittedModel | None,
    *,
    week: str,
    user: str = "",
    now: int,
    rules: Rules | None = None,
    blend: Blend | None = None,
    weights: str = "",
    within: set[int] | None = None,
) -> Weekly:
    """This week's playlist from the stored history and models (see the package's modules);
    ``blend``: the signals' weights and offsets (None: learned from the history, else the
    defaults); ``weights``: given weights over the defaults ("cf=1,text=0", as parse_weights
    reads them) instead; ``within``: only these track ids may be picked (a beets query)."""
    rules = rules or Rules()
    seed = week_seed(week, user)
    excluded = banned_tracks(conn) | recent_picks(conn, week, rules.recent_weeks)
    excluded |= skipped_since(conn, now - rules.skip_rest_days * 86_400)
    candidates = candidate_mask(library, history, excluded, rules, now)
    if within is not None:
        candidates &= np.isin(library.ids, np.fromiter(within, dtype=np.int64))
    notes: list[str] = []
    if blend is None and weights:
        blend = parse_weights(weights, default_blend(cf_known_share(model, library)))
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
    if (share := cf_known_share(model, library)) is not None:
        notes.append(f"the CF model knows the artists of {share:.0%} of your library's tracks "
                     "('mydiscover cf status' tells more)")  # fmt: skip
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
    if len(chosen) < rules.size:
        notes.append(_shortfall(len(chosen), int(candidates.sum()), rules))
    described = blend.described()
    notes.append(described)
    return Weekly(week, seed, picks, {s.name: len(s.rows) for s in signals}, dict(blend.weights),
                  notes, blend=described, made_at=now)  # fmt: skip


def _shortfall(chosen: int, candidates: int, rules: Rules) -> str:
    if candidates < rules.size:
        why = (f"only {candidates} tracks may be offered (not played in the last "
               f"{rules.rest_days} days, {rules.min_seconds:g}-{rules.max_seconds:g} s long, "
               f"not banned, skipped nor in the last {rules.recent_weeks} weeklies)")  # fmt: skip
    else:
        why = (f"the caps (at most {rules.per_artist} tracks per artist, {rules.per_album} per "
               f"album) leave no more of the {candidates} tracks that may be offered")  # fmt: skip
    return f"{chosen} tracks, not {rules.size}: {why}"


def weekly_options(rules: Rules, weights: str) -> dict[str, Any]:
    """What a caller asked of the weekly (its rules, and the weights if it gave any): stored
    with it, so a later call that asks otherwise is told the week's weekly is kept."""
    return {**dataclasses.asdict(rules), "weights": weights or None}


def kept_weekly(
    stored: StoredWeekly, library: Library, asked: dict[str, Any], banned: set[int]
) -> Weekly:
    """The week's stored weekly, as it was (a pick no longer in the library, or banned since,
    left out with a note); :class:`DamagedWeekly` if what it was made from cannot be read."""
    made_from = stored.signals
    scored, weights = made_from.get("scored"), made_from.get("weights")
    if not isinstance(scored, dict) or not isinstance(weights, dict):
        raise DamagedWeekly("its signals and weights are missing")
    row_of = library.row_of()
    picks = [Pick(row_of[p.track_id], p.track_id, p.score, p.lead_signal, p.reasons)
             for p in stored.picks
             if p.track_id in row_of and p.track_id not in banned]  # fmt: skip
    made = dt.datetime.fromtimestamp(stored.created_at, dt.timezone.utc)
    notes = [f"the weekly of {stored.week} as made on {made:%Y-%m-%d %H:%M} UTC (a week stays "
             "fixed; --refresh makes a new one)"]  # fmt: skip
    options = made_from.get("options")
    if isinstance(options, dict):
        other = [f"{key.replace('_', ' ')} {options[key]}, not {value}"
                 for key, value in asked.items()
                 if key in options and options[key] != value]  # fmt: skip
        if other:
            notes.append("it was made with other settings (" + "; ".join(other) + ")")
    if gone := len(stored.picks) - len(picks):
        notes.append(f"{gone} of its tracks are banned or no longer in the library: left out")
    blend = made_from.get("blend")
    if isinstance(blend, str) and blend:
        notes.append(blend)
    return Weekly(stored.week, stored.seed, picks, scored, weights, notes,
                  blend=blend if isinstance(blend, str) else "",
                  made_at=stored.created_at)  # fmt: skip


def save_weekly(
    conn: sqlite3.Connection, weekly: Weekly, now: int, options: dict[str, Any]
) -> None:
    """Store the weekly, so the week keeps it, the next ones avoid repeating it and feedback
    can be measured (``options``: :func:`weekly_options`)."""
    picks = [
        StoredPick(position, pick.track_id, pick.score, pick.lead, pick.reasons)
        for position, pick in enumerate(weekly.picks, start=1)
    ]
    signals: dict[str, Any] = {"scored": weekly.signals, "weights": weekly.weights,
                               "blend": weekly.blend, "options": options}  # fmt: skip
    store_weekly(conn, weekly.week, now, weekly.seed, signals, picks)
