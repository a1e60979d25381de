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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from mydiscover.cf import defaults
from mydiscover.cf.models import ALS
from mydiscover.cf.weighting import Weighting
from mydiscover.errors import MydiscoverError

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
        """Fit on Spark; the item factors are collected back into NumPy."""
        self._gram = None
        self.learned_weighting, weighted = Weighting.fitted(plays, self.weighting)
        ratings = weighted.tocoo()
        spark = _session(self.master)
        try:
            import pandas as pd
            from pyspark.ml.recommendation import ALS as SparkEstimator

            frame = spark.createDataFrame(
                pd.DataFrame(
                    {
                        "user": ratings.row.astype(np.int32),
                        "item": ratings.col.astype(np.int32),
                        "rating": ratings.data.astype(np.float32),
                    }
                )
            )
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
            factors = np.zeros((plays.shape[1], self.factors), dtype=np.float32)
            for row in fitted.itemFactors.toLocalIterator():
                factors[row["id"]] = row["features"]
            self.item_factors = factors
        finally:
            spark.stop()


def _session(master: str):  # noqa: ANN202 - pyspark is an optional dependency
    """A Spark session on ``master`` with the web UI off, Spark's own logging quiet."""
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
            .appName("mydiscover cf fit")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.driver.memory", os.environ.get("MYDISCOVER_SPARK_DRIVER_MEMORY", "4g"))
            .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={_LOG_CONFIG}")
            .getOrCreate()
        )
    except Exception as error:  # py4j raises bare Exceptions when Java is missing
        raise MydiscoverError(f"could not start Spark on {master}: {error}") from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark
