"""A blend learned from the listener's own history.

The weekly is made as it would have been at earlier cut-offs (the history before each only),
and a track counts as a hit when it was played within the horizon after: the signals' log-rank
scores are the features, the hits the labels, and a logistic regression
(:func:`~mydiscover.recommend.blend.learn_blend`) gives the weights. It is fitted on the
earlier cut-offs and checked on the latest: the learned blend is used only when its weekly
there has at least as many hits as the defaults', and only with enough hits to learn from;
otherwise the defaults, with one line saying why.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mydiscover.history.tables import histories_before
from mydiscover.recommend.blend import (
    SIGNALS,
    Blend,
    blend_features,
    default_blend,
    fuse,
    learn_blend,
    signal_normals,
)
from mydiscover.recommend.library import Library
from mydiscover.recommend.rules import Rules, candidate_mask, choose
from mydiscover.recommend.signals import cf_known_share
from mydiscover.recommend.tables import store_learned_blend, stored_learned_blend

if TYPE_CHECKING:
    from mydiscover.cf.store import FittedModel

#: Cut-offs, counted back from now in horizons: the earlier ones to fit, the latest to check.
CUTOFFS = 4
HORIZON_DAYS = 28
#: Hits (tracks played after a cut-off that the weekly could have offered) needed to learn.
MIN_HITS = 60
#: Tracks not played after a cut-off that join the hits as examples, per cut-off.
NEGATIVES = 3000


#: A blend learned is kept this long: the cut-offs it learned from move by a horizon only,
#: and learning costs several weeklies' work.
RELEARN_DAYS = 28


@dataclass(frozen=True)
class LearnedBlend:
    """The blend to use, one line on where it came from, and when it was learned (None: not
    learned, the defaults for a short history)."""

    blend: Blend
    note: str
    learned_at: int | None = None

    def to_json(self) -> dict[str, Any]:
        """What is stored of it, for :func:`kept_blend` to read back."""
        blend = self.blend
        return {"weights": blend.weights, "offsets": blend.offsets, "source": blend.source,
                "note": self.note}  # fmt: skip


def kept_blend(conn: sqlite3.Connection, now: int) -> LearnedBlend | None:
    """The blend learned last, if it is younger than RELEARN_DAYS (None: none, too old, or
    damaged: to be learned anew)."""
    if (stored := stored_learned_blend(conn)) is None:
        return None
    learned_at, made = stored
    if not 0 <= now - learned_at < RELEARN_DAYS * 86_400:
        return None
    try:
        blend = Blend({str(k): float(v) for k, v in made["weights"].items()},
                      {str(k): float(v) for k, v in made["offsets"].items()},
                      str(made["source"]))  # fmt: skip
        note = str(made["note"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    day = dt.datetime.fromtimestamp(learned_at, dt.timezone.utc).date()
    return LearnedBlend(blend, f"{note} (learned on {day}, kept {RELEARN_DAYS} days)", learned_at)


def blend_for(
    conn: sqlite3.Connection,
    library: Library,
    model: FittedModel | None,
    *,
    now: int,
    rules: Rules,
    seed: int,
) -> LearnedBlend:
    """The blend kept from the last RELEARN_DAYS (the pipeline's last step learns it), else
    one learned now (:func:`learn_from_history`)."""
    if (kept := kept_blend(conn, now)) is not None:
        return kept
    return learn_from_history(conn, library, model, now=now, rules=rules, seed=seed)


def learn_from_history(
    conn: sqlite3.Connection,
    library: Library,
    model: FittedModel | None,
    *,
    now: int,
    rules: Rules,
    seed: int,
) -> LearnedBlend:
    """The blend learned from this listener's history, or the defaults (see the module);
    stored for the next RELEARN_DAYS when it was learned (a short history is tried again)."""
    from mydiscover.recommend.weekly import compute_signals

    defaults = default_blend(cf_known_share(model, library))
    horizon = HORIZON_DAYS * 86_400
    cutoffs = [now - horizon * back for back in range(CUTOFFS, 0, -1)]
    # The histories before each cut-off and before now (the cut-offs are a horizon apart, the
    # latest a horizon before now), in one pass: the tracks played within a cut-off's horizon
    # are those with more plays before the next. They bound the hits from above, enough to
    # fall back to the defaults before computing any signal.
    histories = histories_before(conn, [*cutoffs, now])
    played_after = [{track for track, plays in later.track_plays.items()
                     if plays > before.track_plays.get(track, 0)}
                    for before, later in itertools.pairwise(histories)]  # fmt: skip
    most = sum(len(played) for played in played_after[:-1])
    if most < MIN_HITS:
        return _too_few(most, defaults)
    rng = np.random.default_rng(seed)
    examples: list[tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]] = []
    latest: tuple[list, np.ndarray, set[int]] | None = None
    known: set[str] = set()
    hits = 0
    for index, (cutoff, before) in enumerate(zip(cutoffs, histories[:-1], strict=True)):
        if before.empty:
            continue
        played = played_after[index]
        candidates = candidate_mask(library, before, set(), rules, cutoff)
        positives = np.flatnonzero(candidates & np.isin(library.ids, list(played)))
        signals = compute_signals(conn, library, before, model, seed)
        if index == len(cutoffs) - 1:
            latest = (signals, candidates, played)
            known = {artist.key for artist in before.artists}
            continue
        hits += len(positives)
        normal = signal_normals(signals, candidates, len(library))
        others = np.flatnonzero(candidates)
        sampled = rng.choice(others, min(NEGATIVES, len(others)), replace=False)
        rows = np.unique(np.concatenate([positives, sampled]))
        examples.append((normal, rows, np.isin(rows, positives)))
    if hits < MIN_HITS or latest is None:
        return _too_few(hits, defaults)
    # Only the signals the cut-offs had are learned; one computed only now (a CF model just
    # fitted) keeps its default weight rather than a weight of 0 learned from its absence.
    names = [name for name in SIGNALS if any(name in normal for normal, _, _ in examples)]
    features = np.concatenate([blend_features(normal, rows, names) for normal, rows, _ in examples])
    labels = np.concatenate([y for _, _, y in examples])
    fitted = learn_blend(features, labels, names, "")
    learned = Blend({**defaults.weights, **fitted.weights},
                    {**defaults.offsets, **fitted.offsets},
                    f"learned from your history ({hits} plays after {len(examples)} cut-offs"
                    + ("" if len(names) == len(SIGNALS) else
                       f"; {', '.join(n for n in SIGNALS if n not in names)} as the defaults")
                    + ")")  # fmt: skip
    signals, candidates, played = latest
    ours, theirs = (_hits(library, signals, blend, candidates, played, known, rules, seed)
                    for blend in (learned, defaults))  # fmt: skip
    if ours < theirs:
        chosen = LearnedBlend(defaults, f"the blend learned from your history found {ours} "
                              f"hits in the latest {HORIZON_DAYS} days, the defaults {theirs}: "
                              "the defaults", now)  # fmt: skip
    else:
        chosen = LearnedBlend(learned, f"{learned.source}: {ours} hits in the latest "
                              f"{HORIZON_DAYS} days against the defaults' {theirs}",
                              now)  # fmt: skip
    # A read-only database, or one another process is writing: learned again next time.
    with contextlib.suppress(sqlite3.OperationalError):
        store_learned_blend(conn, now, chosen.to_json())
    return chosen


def _too_few(hits: int, defaults: Blend) -> LearnedBlend:
    why = f"{hits} plays after earlier cut-offs are too few to learn a blend from"
    return LearnedBlend(defaults, f"{why} (it takes {MIN_HITS}): the defaults")


def _hits(
    library: Library,
    signals: list,
    blend: Blend,
    candidates: np.ndarray,
    played: set[int],
    known: set[str],
    rules: Rules,
    seed: int,
) -> int:
    fused = fuse(signals, blend, candidates, len(library))
    picked = choose(library, fused.scores, candidates, known, rules, seed)
    return sum(int(library.ids[row]) in played for row in picked)
