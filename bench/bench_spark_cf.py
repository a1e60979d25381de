"""Benchmark the whole CF pipeline on Spark against the local one, on a ListenBrainz dump.

Run it from the repository root, in the project's virtualenv (``pip install -e .[bench,spark]``,
and a Java runtime)::

    python bench/bench_spark_cf.py                 # 10,000,000 listens, Spark on local[2]
    python bench/bench_spark_cf.py --quick         # 1,000,000 listens
    python bench/bench_spark_cf.py --master spark://host:7077 --json

The target (from the issue): Spark ``local[2]``, end to end from raw dump files on a
10-million-listen dump, completes, and its model's NDCG@10 on held-out listeners is within 0.01
of the local engine's on the same data.

The dump (generated once, cached under ``bench/.cache/spark-cf-LISTENS/``; git ignores it) is
an extracted ListenBrainz listens dump: ``listens/<n>.listens`` files of JSON lines as the dump
writes them, beside ``index.json`` and ``COPYING``. Its listeners (one per 200 listens) each
have a home among 50 groups of 400 artists; about 85% of a listener's 20 to 100 artists come
from the home group, the rest from anywhere, each group's artists by a Zipf law, and each
(listener, artist) pair is played a heavy-tailed number of times, one listen per play. One
thousand more listeners of the same kind are held out of the dump: each one's artists are
split 80/20 by a seeded draw, the 80% folded into a model as a user is (``fold_in_user``) and
the 20% are the relevant answers for NDCG@10 (the folded-in artists excluded from the list).

Timed, in this process, one after the other:

- the baseline: a bare read and ``json.loads`` of every line of the dump's files;
- local: ``read_dataset`` (``cf import``) and the local ALS at its defaults (``cf fit``);
- Spark: ``import_on_spark`` (``cf import --engine als-spark``) and ``SparkALS.fit_imported``
  (``cf fit --engine als-spark``) at the Spark engine's defaults;
- the control: the Spark ALS fitted on the local import's matrix (``SparkALS.fit``), which
  tells a difference made by the import on Spark from one made by Spark's objective.

Printed: each stage's seconds and times the baseline, the three models' NDCG@10 on the held-out
listeners with a paired bootstrap 95% interval of Spark's difference from local, and whether
the two imports agree (listeners, artists, play counts and each artist's listeners).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from common import CACHE_DIR, add_repo_to_path, print_table, verdict

add_repo_to_path()

from mydiscover.cf.datasets import read_dataset  # noqa: E402
from mydiscover.cf.matrix import CoListening  # noqa: E402
from mydiscover.cf.models import ALS  # noqa: E402
from mydiscover.cf.score import fold_in_user  # noqa: E402
from mydiscover.cf.spark import SparkALS  # noqa: E402
from mydiscover.cf.spark_data import SparkDataset, import_on_spark  # noqa: E402
from mydiscover.cf.store import FittedModel, load_model, save_model  # noqa: E402
from mydiscover.errors import MydiscoverError  # noqa: E402
from mydiscover.history.tables import ArtistPlays  # noqa: E402
from mydiscover.library.match import artist_key  # noqa: E402

GROUPS = 50
ARTISTS_PER_GROUP = 400
LISTENS_PER_LISTENER = 200
HELD_OUT = 1_000
HOME_SHARE = 0.85
LINES_PER_FILE = 200_000
TOP_K = 10
NDCG_TOLERANCE = 0.01
SEED = 2026
LINE = ('{{"user_name": "{user}", "listened_at": {when}, "track_metadata": {{"artist_name": '
        '"{artist}", "track_name": "Song", "mbid_mapping": null, '
        '"additional_info": {{}}}}}}\n')  # fmt: skip


def artist_name(artist: int) -> str:
    """The name of an artist of the generated data."""
    return f"Group {artist // ARTISTS_PER_GROUP} Artist {artist % ARTISTS_PER_GROUP}"


def listener_pairs(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One listener's artists and play counts."""
    count = int(rng.integers(20, 101))
    home = int(rng.integers(GROUPS))
    zipf = 1.0 / np.arange(1, ARTISTS_PER_GROUP + 1) ** 0.9
    zipf /= zipf.sum()
    chosen: set[int] = set()
    while len(chosen) < count:
        group = home if rng.random() < HOME_SHARE else int(rng.integers(GROUPS))
        chosen.add(group * ARTISTS_PER_GROUP + int(rng.choice(ARTISTS_PER_GROUP, p=zipf)))
    artists = np.array(sorted(chosen))
    plays = np.minimum((rng.pareto(1.5, len(artists)) * 2).astype(int) + 1, 200)
    return artists, plays


@dataclass
class HeldOut:
    """A held-out listener: the artists folded in (with plays) and the artists to find."""

    visible: list[ArtistPlays]
    hidden: list[str]  # artist keys


def generate(folder: Path, listens: int) -> list[HeldOut]:
    """Write the dump (see the module) and return the held-out listeners."""
    rng = np.random.default_rng(SEED)
    (folder / "listens").mkdir(parents=True, exist_ok=True)
    written = file_number = in_file = 0
    handle = (folder / "listens" / "0.listens").open("w", encoding="utf-8")
    listener = 0
    index = {}
    while written < listens:
        user = f"listener{listener:07d}"
        index[user] = {"file_name": str(file_number)}
        artists, plays = listener_pairs(rng)
        for artist, count in zip(artists.tolist(), plays.tolist(), strict=True):
            name = artist_name(artist)
            start = 1_600_000_000 + int(rng.integers(0, 10**8))
            handle.write("".join(LINE.format(user=user, when=start + 600 * n, artist=name)
                                 for n in range(count)))  # fmt: skip
            written += count
            in_file += count
        listener += 1
        if in_file >= LINES_PER_FILE:
            handle.close()
            file_number, in_file = file_number + 1, 0
            handle = (folder / "listens" / f"{file_number}.listens").open("w", encoding="utf-8")
    handle.close()
    (folder / "index.json").write_text(json.dumps(index))
    (folder / "COPYING").write_text("generated by bench/bench_spark_cf.py\n")
    held: list[HeldOut] = []
    for _ in range(HELD_OUT):
        artists, plays = listener_pairs(rng)
        hidden = rng.random(len(artists)) < 0.2
        visible = [ArtistPlays(artist_key(artist_name(a)), artist_name(a), "", int(p))
                   for a, p, h in zip(artists, plays, hidden, strict=True) if not h]  # fmt: skip
        held.append(HeldOut(visible, [artist_key(artist_name(a)) for a in artists[hidden]]))
    (folder / "held-out.json").write_text(json.dumps(
        [{"visible": [[a.key, a.name, a.plays] for a in h.visible], "hidden": h.hidden}
         for h in held]))  # fmt: skip
    return held


def ensure_dump(listens: int) -> tuple[Path, list[HeldOut]]:
    """The cached dump and its held-out listeners, generated when missing."""
    folder = CACHE_DIR / f"spark-cf-{listens}"
    if not (folder / "held-out.json").exists():
        started = time.perf_counter()
        print(f"generating {listens:,} listens in {folder} ...", flush=True)
        generate(folder, listens)
        print(f"  took {time.perf_counter() - started:.0f} s", flush=True)
    held = [HeldOut([ArtistPlays(k, n, "", p) for k, n, p in h["visible"]], h["hidden"])
            for h in json.loads((folder / "held-out.json").read_text())]  # fmt: skip
    return folder, held


def bare_parse(folder: Path) -> int:
    """The baseline: every line of the listens files read and parsed as JSON."""
    lines = 0
    for path in sorted((folder / "listens").glob("*.listens")):
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                json.loads(line)
                lines += 1
    return lines


def as_model(als: ALS, data: CoListening | SparkDataset, scratch: Path, name: str) -> FittedModel:
    """The fitted engine as the model file the weekly reads, read back."""
    path = scratch / f"{name}.npz"
    save_model(path, als, data, {"engine": name, "fitted_at": "bench"})
    return load_model(path)


def ndcg_per_listener(model: FittedModel, held: list[HeldOut]) -> np.ndarray:
    """NDCG@TOP_K of each held-out listener (0 where none of their artists is known)."""
    assert model.als.item_factors is not None
    values = np.zeros(len(held))
    discounts = 1.0 / np.log2(np.arange(2, TOP_K + 2))
    for number, listener in enumerate(held):
        try:
            user, plays = fold_in_user(model, listener.visible)
        except MydiscoverError:
            continue
        scores = model.als.item_factors @ user
        scores[plays > 0] = -np.inf
        top = np.argpartition(-scores, TOP_K)[:TOP_K]
        top = top[np.argsort(-scores[top])]
        wanted, _ = model.lookup([""] * len(listener.hidden), listener.hidden)
        relevant = set(wanted[wanted >= 0].tolist())
        gains = np.array([item in relevant for item in top.tolist()], dtype=float)
        ideal = discounts[: min(len(listener.hidden), TOP_K)].sum()
        values[number] = float(gains @ discounts / ideal) if ideal else 0.0
    return values


def paired_interval(ours: np.ndarray, theirs: np.ndarray, draws: int = 2000) -> tuple[float, float]:
    """A bootstrap 95% interval of the mean of ``ours - theirs`` over listeners."""
    rng = np.random.default_rng(SEED)
    difference = ours - theirs
    means = [difference[rng.integers(0, len(difference), len(difference))].mean()
             for _ in range(draws)]  # fmt: skip
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def same_imports(local: CoListening, spark: SparkDataset) -> bool:
    """Whether the two imports found the same listeners, artists, pairs and listeners per
    artist."""
    return (local.shape == spark.shape and local.pairs == spark.pairs
            and dict(zip(local.keys, local.popularity.tolist(), strict=True))
            == dict(zip(spark.keys, spark.popularity.tolist(), strict=True)))  # fmt: skip


def timed(label: str, call: Any) -> tuple[Any, float]:
    """``call()`` and its seconds, said as it goes."""
    print(f"{label} ...", flush=True)
    started = time.perf_counter()
    value = call()
    seconds = time.perf_counter() - started
    print(f"  {seconds:.1f} s", flush=True)
    return value, seconds


def main() -> None:
    """Generate (or reuse) the dump, run both pipelines, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listens", type=int, default=10_000_000,
                        help="listens in the dump (default: %(default)s)")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="1,000,000 listens")
    parser.add_argument("--master", default="local[2]",
                        help="the Spark master (default: %(default)s)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="the figures as JSON too")
    args = parser.parse_args()
    listens = 1_000_000 if args.quick else args.listens
    folder, held = ensure_dump(listens)
    lines, baseline = timed("baseline: read and json.loads every line", lambda: bare_parse(folder))
    with tempfile.TemporaryDirectory(prefix="bench-spark-cf-") as scratch_name:
        scratch = Path(scratch_name)
        local, local_import = timed("local: cf import",
                                    lambda: read_dataset(folder, "listenbrainz"))  # fmt: skip
        local_als = ALS()
        _, local_fit = timed("local: cf fit (als)", lambda: local_als.fit(local.plays))
        spark, spark_import = timed("spark: cf import --engine als-spark", lambda: import_on_spark(
            str(folder), "listenbrainz", f"file:{scratch / 'plays'}", args.master,
            lambda _: None))  # fmt: skip
        spark_als = SparkALS(master=args.master)
        _, spark_fit = timed("spark: cf fit --engine als-spark",
                             lambda: spark_als.fit_imported(spark))  # fmt: skip
        control_als = SparkALS(master=args.master)
        _, control_fit = timed("control: Spark ALS on the local import",
                               lambda: control_als.fit(local.plays))  # fmt: skip
        ndcg = {name: ndcg_per_listener(as_model(als, data, scratch, name), held)
                for name, als, data in (("local", local_als, local), ("spark", spark_als, spark),
                                        ("control", control_als, local))}  # fmt: skip
    low, high = paired_interval(ndcg["spark"], ndcg["local"])
    difference = float(ndcg["spark"].mean() - ndcg["local"].mean())
    agree = same_imports(local, spark)
    print()
    users, artists = local.shape
    print(f"CF pipelines on a {lines:,}-listen ListenBrainz dump ({users:,} listeners x "
          f"{artists:,} artists, {local.pairs:,} pairs), Spark on {args.master}")  # fmt: skip
    rows = [
        ["baseline: read + json.loads", f"{baseline:.1f}", "1.00 x"],
        ["local: cf import", f"{local_import:.1f}", f"{local_import / baseline:.2f} x"],
        ["local: cf fit (als)", f"{local_fit:.1f}", f"{local_fit / baseline:.2f} x"],
        ["spark: cf import", f"{spark_import:.1f}", f"{spark_import / baseline:.2f} x"],
        ["spark: cf fit", f"{spark_fit:.1f}", f"{spark_fit / baseline:.2f} x"],
        ["control: Spark ALS on the local matrix", f"{control_fit:.1f}",
         f"{control_fit / baseline:.2f} x"],
    ]  # fmt: skip
    print_table(rows, ["stage", "seconds", "vs baseline"], {1, 2})
    print()
    print_table(
        [[name, f"{values.mean():.4f}"] for name, values in ndcg.items()],
        [f"NDCG@{TOP_K} on {len(held):,} held-out listeners", "mean"], {1},
    )  # fmt: skip
    print()
    print(f"the imports agree (listeners, artists, pairs, listeners per artist): {agree}")
    ok = agree and abs(difference) <= NDCG_TOLERANCE
    print(f"Spark end to end minus local NDCG@{TOP_K}: {difference:+.4f} (95% {low:+.4f} to "
          f"{high:+.4f}; target within {NDCG_TOLERANCE}): {verdict(ok)}")  # fmt: skip
    if args.json:
        print(json.dumps({
            "listens": lines, "master": args.master, "baseline_s": baseline,
            "local_import_s": local_import, "local_fit_s": local_fit,
            "spark_import_s": spark_import, "spark_fit_s": spark_fit,
            "control_fit_s": control_fit, "imports_agree": agree,
            "ndcg": {name: float(values.mean()) for name, values in ndcg.items()},
            "spark_minus_local": difference, "interval": [low, high],
        }))  # fmt: skip


if __name__ == "__main__":
    main()
