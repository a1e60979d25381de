"""The ALS model fitted on Apache Spark, for co-listening data that outgrows one machine.

``pyspark.ml.recommendation.ALS`` with implicit preferences fits the same kind of model as the
local engine and leaves the same model file: item factors plus the weighting they were fitted
with. Spark's objective differs in two documented ways (a play weighs ``1 + alpha * r``, and the
regularisation grows with each listener's number of artists), and the saved parameters say so,
so the user is folded in under the objective the factors were fitted with.

Install with ``pip install 'mydiscover[spark]'``; Spark needs a Java runtime (17 or newer).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from mydiscover.cf import defaults
from mydiscover.cf.models import ALS
from mydiscover.cf.weighting import Weighting
from mydiscover.errors import MydiscoverError

if TYPE_CHECKING:
    from mydiscover.cf.spark_data import SparkDataset

DEFAULT_MASTER = defaults.SPARK_MASTER
#: Spark's own logging, quiet: its start-up warnings mean nothing to a mydiscover user.
_LOG_CONFIG = Path(__file__).with_name("log4j2.properties")


@dataclass
class SparkALS(ALS):
    """ALS whose fit runs on a Spark cluster (or ``local[N]``); fold-in and scoring stay local."""

    master: str = DEFAULT_MASTER
    name: str = "als-spark"
    confidence_offset: float = 1.0
    scale_regularization: bool = True
    regularization: float = defaults.SPARK_REGULARIZATION
    alpha: float = defaults.SPARK_ALPHA
    weighting: str = defaults.SPARK_WEIGHTING

    def fit(self, plays: sp.csr_matrix) -> None:
        """Fit on Spark a matrix imported on this machine; the item factors are collected back
        into NumPy."""
        self._gram = None
        self.learned_weighting, weighted = Weighting.fitted(plays, self.weighting)
        ratings = weighted.tocoo()
        spark = spark_session(self.master, "mydiscover cf fit")
        try:
            import pandas as pd

            frame = spark.createDataFrame(
                pd.DataFrame(
                    {
                        "user": ratings.row.astype(np.int32),
                        "item": ratings.col.astype(np.int32),
                        "rating": ratings.data.astype(np.float32),
                    }
                )
            )
            self._fit_frame(frame, plays.shape[1])
        finally:
            spark.stop()

    def fit_imported(self, data: SparkDataset) -> None:
        """Fit on the play counts an import on Spark left where the cluster sees them: they
        are weighted there as :class:`~mydiscover.cf.weighting.Weighting` weights a local
        matrix, and only the item factors come back."""
        from pyspark.sql import functions as F

        self._gram = None
        spark = spark_session(self.master, "mydiscover cf fit")
        try:
            try:
                plays = spark.read.parquet(data.ratings)
            except Exception as error:  # py4j and Spark raise their own, untyped
                why = str(error).splitlines()[0]
                raise MydiscoverError(
                    f"cannot read the imported plays at {data.ratings} ({why}): import again"
                ) from None
            users, items = data.shape
            listeners = data.popularity.astype(np.float64)
            idf = (np.log(max(users, 1)) - np.log1p(listeners)).astype(np.float32)
            total = plays.agg(F.sum("plays")).first()[0] or 0.0
            learned = Weighting(self.weighting, idf, float(total / max(users, 1)) or 1.0)
            rating = F.col("plays")
            if learned.scheme == "binary":
                rating = F.lit(1.0)
            elif learned.scheme == "log":
                rating = F.log1p("plays")
            elif learned.scheme == "bm25":
                lengths = plays.groupBy("user").agg(F.sum("plays").alias("length"))
                weights = spark.createDataFrame(
                    [(i, float(max(w, 0.0))) for i, w in enumerate(idf.tolist())],
                    "item int, idf double",
                )
                plays = plays.join(lengths, "user").join(F.broadcast(weights), "item")
                norm = (1.0 - learned.b) + learned.b * F.col("length") / learned.average_length
                rating = (rating * (learned.k1 + 1.0) / (learned.k1 * norm + rating)) * F.col("idf")
            else:
                raise ValueError(f"unknown weighting {learned.scheme!r}")
            frame = plays.select("user", "item", rating.cast("float").alias("rating"))
            frame = frame.where(F.col("rating") != 0).cache()
            if learned.scheme == "bm25":
                mean = frame.agg(F.avg("rating")).first()[0] or 0.0
                if mean > 0:
                    learned = replace(learned, scale=1.0 / mean)
                    frame = frame.withColumn(
                        "rating", (F.col("rating") * learned.scale).cast("float")
                    )
            self.learned_weighting = learned
            self._fit_frame(frame, items)
        finally:
            spark.stop()

    def _fit_frame(self, frame: Any, items: int) -> None:
        """ALS on a frame of (user, item, rating): the item factors, collected."""
        from pyspark.ml.recommendation import ALS as SparkEstimator

        estimator = SparkEstimator(
            rank=self.factors,
            maxIter=self.iterations,
            regParam=self.regularization,
            alpha=self.alpha,
            implicitPrefs=True,
            seed=self.seed,
            userCol="user",
            itemCol="item",
            ratingCol="rating",
        )
        fitted = estimator.fit(frame)
        factors = np.zeros((items, self.factors), dtype=np.float32)
        for row in fitted.itemFactors.toLocalIterator():
            factors[row["id"]] = row["features"]
        self.item_factors = factors


def spark_session(master: str, app: str):  # noqa: ANN201 - pyspark is an optional dependency
    """A Spark session on ``master`` named ``app``, the web UI off, Spark's logging quiet."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise MydiscoverError(
            "the Spark engine needs PySpark: pip install 'mydiscover[spark]'"
        ) from None
    # The Python workers must be this interpreter, not whatever 'python3' is on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    try:
        spark = (
            SparkSession.builder.master(master)
            .appName(app)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            # Dumps hold damaged lines: a short array or an overflowing number is a null
            # (counted as unusable), not the error that ends the job in ANSI mode.
            .config("spark.sql.ansi.enabled", "false")
            .config("spark.driver.memory", os.environ.get("MYDISCOVER_SPARK_DRIVER_MEMORY", "4g"))
            .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={_LOG_CONFIG}")
            .getOrCreate()
        )
    except Exception as error:  # py4j raises bare Exceptions when Java is missing
        raise MydiscoverError(f"could not start Spark on {master}: {error}") from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark
