"""Choose an ALS engine's defaults on validation splits, never on a test split.

For each tuning seed S, ``eval cf``'s holdout split at S is made (its test part is never
read), and a validation split is carved from its training part: 20% of each listener's
training artists hidden, at seed S + 1, as ``eval weekly --learn`` carves its own. Every
configuration of the grid is fitted on the validation training part and scored by NDCG@10 on
the validation part; the table is printed best first, with the mean over the seeds.

The rule, fixed before looking: the default is the cheapest configuration (fewest factors,
then fewest iterations) whose mean validation NDCG@10 is within TOLERANCE of the best, since
factors cost fold-in and scoring time and model size on every user's machine.

    python tools/tune_cf.py /path/to/hetrec2011-lastfm-2k            # seeds 42 and 7
    python tools/tune_cf.py DATASET --seeds 42 7 --factors 64 128 --json out.json
    python tools/tune_cf.py DATASET --engine als-spark --weighting bm25 log --factors 96 \
        --iterations 15 --regularization 0.05 0.2 0.5 --alpha 1 4 16      # Spark, local[2]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

from mydiscover.cf import defaults
from mydiscover.cf.datasets import read_dataset
from mydiscover.cf.engines import FOLDABLE, build_als
from mydiscover.cf.evaluate import evaluate, holdout_split

#: Mean validation NDCG@10 this close to the best counts as as good (the spread between seeds
#: of one configuration is several times larger).
TOLERANCE = 0.001


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "dataset", type=Path, help="a dataset 'cf import' reads (HetRec 2K: its folder)"
    )
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[42, 7],
        help="tuning seeds: eval cf's split seeds (default: %(default)s)",
    )
    parser.add_argument(
        "--factors", type=int, nargs="+", default=[32, 64, 96, 128], help="(default: %(default)s)"
    )
    parser.add_argument(
        "--regularization",
        type=float,
        nargs="+",
        default=[5, 10, 20, 40, 80],
        help="(default: %(default)s)",
    )
    parser.add_argument(
        "--alpha", type=float, nargs="+", default=[2, 4, 8], help="(default: %(default)s)"
    )
    parser.add_argument(
        "--iterations", type=int, nargs="+", default=[15, 30], help="(default: %(default)s)"
    )
    parser.add_argument(
        "--fraction",
        type=float,
        default=0.2,
        help="the holdout share of both splits (default: %(default)s)",
    )
    parser.add_argument(
        "--engine", choices=FOLDABLE, default="als", help="the engine tuned (default: %(default)s)"
    )
    parser.add_argument(
        "--weighting",
        nargs="+",
        default=[defaults.WEIGHTING],
        help="confidence weightings (default: %(default)s)",
    )
    parser.add_argument("--json", type=Path, help="write every configuration's figures here")
    return parser.parse_args()  # fmt: skip


def main() -> None:
    """Fit and score the grid, print the table and the chosen configuration."""
    args = parse_args()
    plays = read_dataset(args.dataset, "auto").plays
    validations = {}
    for seed in args.seeds:
        training = holdout_split(plays, args.fraction, seed).train  # its test part is not read
        validations[seed] = holdout_split(training, args.fraction, seed + 1)
    grid = list(itertools.product(args.factors, args.iterations, args.regularization, args.alpha,
                                  args.weighting))  # fmt: skip
    rows = []
    started = time.perf_counter()
    for number, (factors, iterations, regularization, alpha, weighting) in enumerate(grid, 1):
        scores = [float(evaluate(build_als(args.engine, factors=factors, iterations=iterations,
                                           regularization=regularization, alpha=alpha,
                                           weighting=weighting, seed=seed),
                                 validation, 10).metrics["ndcg"])
                  for seed, validation in validations.items()]  # fmt: skip
        rows.append({"factors": factors, "iterations": iterations,
                     "regularization": regularization, "alpha": alpha, "weighting": weighting,
                     "ndcg": dict(zip(args.seeds, scores, strict=True)),
                     "mean": statistics.fmean(scores)})  # fmt: skip
        print(f"[{number}/{len(grid)}, {time.perf_counter() - started:.0f} s] "
              f"{factors} factors, {iterations} iterations, regularisation {regularization:g}, "
              f"alpha {alpha:g}, {weighting}: {statistics.fmean(scores):.4f}",
              file=sys.stderr, flush=True)  # fmt: skip
    rows.sort(key=lambda row: -row["mean"])
    best = rows[0]["mean"]
    chosen = min(
        (row for row in rows if row["mean"] >= best - TOLERANCE),
        key=lambda row: (row["factors"], row["iterations"], -row["mean"]),
    )
    seeds = "  ".join(f"seed {seed}" for seed in args.seeds)
    print(f"factors  iterations  regularisation  alpha  weighting  {seeds}  mean")
    for row in rows[:25]:
        per_seed = "  ".join(f"{row['ndcg'][seed]:7.4f}" for seed in args.seeds)
        mark = "  <- chosen" if row is chosen else ""
        print(f"{row['factors']:7d}  {row['iterations']:10d}  {row['regularization']:14g}  "
              f"{row['alpha']:5g}  {row['weighting']:9s}  {per_seed}  "
              f"{row['mean']:.4f}{mark}")  # fmt: skip
    print(f"chosen (the cheapest within {TOLERANCE} of the best mean {best:.4f}): "
          f"{chosen['factors']} factors, {chosen['iterations']} iterations, regularisation "
          f"{chosen['regularization']:g}, alpha {chosen['alpha']:g}, {chosen['weighting']}: "
          f"{chosen['mean']:.4f}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "chosen": chosen}, indent=1))


if __name__ == "__main__":
    main()
