"""The whole CF pipeline on Apache Spark, for public data that outgrows one machine.

``cf import --engine als-spark URI`` reads the raw dump files where the cluster sees them
(``file://``, ``hdfs://``, ``s3a://``): a ListenBrainz listens dump (its ``.listens`` JSON
lines, extracted from the published ``.tar.zst``; ``.gz`` and ``.bz2`` files are read as they
are) or MLHD / MLHD+ (one file per listener, named by its UUID). Spark parses them, keys the
artists exactly as the local import does (:func:`mydiscover.library.match.artist_key` on the
workers, ``mbid:<MBID>`` for MLHD's artists known by MBID only), applies the same filters in
the same order (``since``, the sample of listeners by the same hash, then the artists with
too few listeners, then the listeners of too few artists), and writes the play counts as
Parquet beside the dump (``--spark-output``). Only the artists' labels and counts come back:
they are the local :class:`SparkDataset` file.

``cf fit --engine als-spark`` then weights the plays and fits ALS in Spark, and brings back
the item factors alone, into the same model file the local engine writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mydiscover.cf.matrix import ImportFilters, name_by_mbid, stored_arrays
from mydiscover.errors import DatasetError, MydiscoverError
from mydiscover.files import atomic_file

#: Bump when the file layout changes.
SPARK_DATASET_FORMAT = 1
#: The formats Spark reads from raw files.
SPARK_FORMATS = ("listenbrainz", "mlhd")
#: Listens files of a ListenBrainz dump (index.json, COPYING and the rest left out).
_LISTENBRAINZ_GLOB = "*.{listens,jsonl,json}{,.gz,.bz2}"


@dataclass
class SparkDataset:
    """A dataset imported on Spark: where its play counts lie (Parquet of ``user``, ``item``,
    ``plays``), and its artists' labels and listeners by item, brought back."""

    ratings: str
    users: int
    pairs: int
    keys: list[str]
    names: list[str]
    mbids: list[str]
    popularity: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        """Listeners x artists."""
        return self.users, len(self.keys)

    @property
    def fingerprint(self) -> str:
        """A short digest of where the plays lie, their size and the artists' labels."""
        digest = hashlib.sha256(f"{self.ratings}\0{self.users}\0{self.pairs}\0".encode())
        digest.update("\0".join(self.keys).encode())
        digest.update(np.ascontiguousarray(self.popularity, dtype=np.int64).tobytes())
        return digest.hexdigest()[:16]

    def named_by(self, known: Iterable[tuple[str, str]]) -> int:
        """:func:`~mydiscover.cf.matrix.name_by_mbid` on this dataset's artists."""
        return name_by_mbid(self.keys, self.names, self.mbids, known)

    def save(self, path: Path) -> None:
        """Write the labels atomically (a crash leaves the previous file)."""
        meta = {**self.meta, "format": SPARK_DATASET_FORMAT, "ratings": self.ratings,
                "users": self.users, "pairs": self.pairs}  # fmt: skip
        with atomic_file(path) as handle:
            np.savez(
                handle,
                keys=np.array(self.keys, dtype=np.str_),
                names=np.array(self.names, dtype=np.str_),
                mbids=np.array(self.mbids, dtype=np.str_),
                popularity=self.popularity.astype(np.int64),
                meta=np.array(json.dumps(meta)),
            )

    @classmethod
    def load(cls, path: Path) -> SparkDataset:
        """Read a file written by :meth:`save`."""
        with stored_arrays(path, SPARK_DATASET_FORMAT, "dataset imported on Spark",
                           "Spark dataset", "mydiscover cf import --engine als-spark") as (
                arrays, meta):  # fmt: skip
            return cls(str(meta["ratings"]), int(meta["users"]), int(meta["pairs"]),
                       arrays["keys"].tolist(), arrays["names"].tolist(),
                       arrays["mbids"].tolist(), arrays["popularity"], meta)  # fmt: skip


def import_on_spark(
    uri: str,
    fmt: str,
    output: str,
    master: str,
    keep: Callable[[SparkDataset], None],
    filters: ImportFilters | None = None,
    replaces: str | None = None,
) -> SparkDataset:
    """Parse, key, filter and count a raw dump on Spark (see the module), write the play counts
    as Parquet in a new folder under ``output`` and bring back the artists' labels, which
    ``keep`` stores; only then are the play counts of the import it ``replaces`` deleted, so
    a failure or Ctrl-C at any moment leaves the previous dataset whole."""
    from mydiscover.cf.spark import spark_session

    filters = filters or ImportFilters()
    uri, output = cluster_path(uri), cluster_path(output)
    spark = spark_session(master, "mydiscover cf import")
    try:
        fmt = fmt if fmt != "auto" else _detect(spark, uri)
        if fmt not in SPARK_FORMATS:
            raise MydiscoverError(f"Spark imports {' and '.join(SPARK_FORMATS)} dumps, not {fmt}: "
                                  "import it on this machine (--engine als)")  # fmt: skip
        listens = _listenbrainz(spark, uri) if fmt == "listenbrainz" else _mlhd(spark, uri)
        folder = (
            f"{output.rstrip('/')}/plays-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        )
        data = _counted(spark, listens, fmt, uri, folder, filters)
        keep(data)
        if replaces:
            _delete(spark, replaces)
        return data
    finally:
        spark.stop()


def cluster_path(uri: str) -> str:
    """``uri`` as Hadoop's file systems take it: a ``file:`` URI decoded (Hadoop reads its
    percent escapes as they are: ``a%20b`` would be a folder of that name), others as given."""
    parsed = urllib.parse.urlsplit(uri)
    if parsed.scheme != "file":
        return uri
    return "file:" + urllib.parse.unquote(parsed.path)


def _delete(spark: Any, uri: str) -> None:
    """Delete a folder of the cluster's file system (one it cannot reach stays, silently: it
    holds nothing the new dataset needs)."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    with contextlib.suppress(Exception):  # py4j's errors are untyped
        path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).delete(path, True)


def _text(spark: Any, uri: str, glob: str | None = None) -> Any:
    """The lines of every file under ``uri`` with the file each came from; one line when the
    path cannot be read."""
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    reader = spark.read.option("recursiveFileLookup", "true")
    if glob:
        reader = reader.option("pathGlobFilter", glob)
    try:
        return reader.text(uri).withColumn("file", F.input_file_name())
    except AnalysisException as error:
        raise DatasetError(f"{uri}: Spark cannot read it ({str(error).splitlines()[0]})") from None


def _detect(spark: Any, uri: str) -> str:
    """listenbrainz or mlhd, from the first lines Spark reads (a JSON object with
    track_metadata, or a timestamp and a tab)."""
    for row in _text(spark, uri).limit(50).collect():
        line = row["value"].strip()
        if line.startswith("{") and "track_metadata" in line:
            return "listenbrainz"
        fields = line.split("\t")
        if len(fields) >= 2 and fields[0].isdigit():
            return "mlhd"
    raise DatasetError(f"{uri}: neither ListenBrainz listens nor MLHD: give --format")


def _listenbrainz(spark: Any, uri: str) -> Any:
    """(user, artist name, artist MBID, when) per line of the listens files; unreadable lines
    with a null user."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, LongType, StringType, StructField, StructType

    mbids = StructType([StructField("artist_mbids", ArrayType(StringType()))])
    schema = StructType([
        StructField("user_name", StringType()),
        StructField("user_id", StringType()),
        StructField("listened_at", LongType()),
        StructField("track_metadata", StructType([
            StructField("artist_name", StringType()),
            StructField("mbid_mapping", mbids),
            StructField("additional_info", mbids),
        ])),
    ])  # fmt: skip
    lines = _text(spark, uri, _LISTENBRAINZ_GLOB).where(
        ~F.lower(F.col("file")).endswith("/index.json") & (F.trim("value") != "")
    )
    parsed = lines.select(F.from_json("value", schema).alias("listen")).select("listen.*")
    metadata = F.col("track_metadata")
    # The first artist MBID, from the MusicBrainz mapping or the submitted additional info.
    mbid = F.coalesce(metadata["mbid_mapping"]["artist_mbids"][0],
                      metadata["additional_info"]["artist_mbids"][0], F.lit(""))  # fmt: skip
    usable = metadata.isNotNull()
    return parsed.select(
        F.when(usable, F.coalesce(F.col("user_name"), F.col("user_id"), F.lit(""))).alias("user"),
        F.coalesce(metadata["artist_name"], F.lit("")).alias("artist"),
        mbid.alias("mbid"),
        F.col("listened_at").alias("when"),
    )


def _mlhd(spark: Any, uri: str) -> Any:
    """(user, "", artist MBID, when) per line of MLHD's per-listener files; unreadable lines
    with a null user."""
    from pyspark.sql import functions as F

    lines = _text(spark, uri).where(F.trim("value") != "")
    # The listener is the file's name without its folders, compression and text endings.
    name = F.regexp_extract("file", r"([^/]+)$", 1)
    user = F.regexp_replace(name, r"(\.(zst|zstd|gz|bz2|xz|txt|listens|jsonl))+$", "")
    lines = lines.where(~F.lower(name).rlike(r"\.(csv|md|sha256|json)$"))
    fields = F.split("value", "\t")
    usable = (F.size(fields) >= 2) & fields[0].rlike(r"^[0-9]+$")
    return lines.select(
        F.when(usable, user).alias("user"),
        F.lit("").alias("artist"),
        F.coalesce(F.trim(F.split(fields[1], ",")[0]), F.lit("")).alias("mbid"),
        F.when(usable, fields[0].cast("long")).alias("when"),
    )


def _counted(
    spark: Any, listens: Any, fmt: str, uri: str, output: str, filters: ImportFilters
) -> SparkDataset:
    """The listens keyed, filtered and counted per listener and artist, written as Parquet."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from mydiscover.cf.spark_keys import artist_keys, user_hashes

    # The key of each distinct spelling (name and MBID), computed once per spelling on the
    # workers and joined back: an artist is listened to thousands of times, so the Python
    # calls follow the spellings, not the listens. (On local[2], one run each, 1M listens took
    # 86 s with a call per listen and 99 s so: there Spark's own start and stages dominate.)
    key_of = F.pandas_udf(artist_keys, "string")
    spellings = (listens.select("artist", "mbid").distinct()
                 .withColumn("key", key_of("artist", "mbid")).cache())  # fmt: skip
    keyed = listens.join(spellings, ["artist", "mbid"]).select("user", "when", "key").cache()
    usable = F.col("user").isNotNull() & (F.col("user") != "") & (F.col("key") != "")
    recent = F.lit(True) if filters.since is None else (
        F.col("when").isNotNull() & (F.col("when") >= filters.since))  # fmt: skip
    read, kept_usable, kept_recent = keyed.agg(
        F.count(F.lit(1)), F.sum(usable.cast("long")), F.sum((usable & recent).cast("long"))
    ).first()
    skipped = read - (kept_usable or 0)
    kept = keyed.where(usable & recent)
    if filters.sample_users is not None:
        hash_of = F.pandas_udf(user_hashes, "string")
        chosen = (kept.select("user").distinct().withColumn("hash", hash_of("user"))
                  .orderBy("hash").limit(filters.sample_users).select("user"))  # fmt: skip
        kept = kept.join(chosen, "user")
    pairs = kept.groupBy("user", "key").agg(F.count(F.lit(1)).cast("float").alias("plays"))
    # The rows the filters left out, as the local import counts them: before the sample (by
    # date) and by it; not those of the pairs the minimums drop next.
    after = kept_recent or 0
    if filters.sample_users is not None:
        pairs = pairs.cache()
        after = int(pairs.agg(F.sum("plays")).first()[0] or 0)
    filtered = (kept_usable or 0) - after
    if filters.min_listeners > 1:
        wide = pairs.groupBy("key").count().where(F.col("count") >= filters.min_listeners)
        pairs = pairs.join(wide.select("key"), "key")
    if filters.min_items > 1:
        broad = pairs.groupBy("user").count().where(F.col("count") >= filters.min_items)
        pairs = pairs.join(broad.select("user"), "user")
    pairs = pairs.cache()
    # Labels per artist: the smallest spelling of its name (the local import keeps the first
    # it reads, which on a cluster is no order at all) and an MBID where a listen has one.
    labels = (spellings.where(F.col("key") != "").groupBy("key")
              .agg(F.min(F.when(F.col("artist") != "", F.trim("artist"))).alias("name"),
                   F.max(F.when(F.col("mbid") != "", F.col("mbid"))).alias("mbid")))  # fmt: skip
    items = (pairs.groupBy("key").agg(F.count(F.lit(1)).alias("listeners"))
             .join(labels, "key", "left")
             .withColumn("item", F.row_number().over(Window.orderBy("key")) - 1))  # fmt: skip
    users = (pairs.select("user").distinct()
             .withColumn("row", F.row_number().over(Window.orderBy("user")) - 1))  # fmt: skip
    items = items.cache()
    ratings = (pairs.join(items.select("key", "item"), "key").join(users, "user")
               .select(F.col("row").alias("user"), "item", "plays"))  # fmt: skip
    labelled = items.orderBy("item").collect()
    if not labelled:
        raise DatasetError(f"{uri}: no listens left to import (read {read:,}, {skipped:,} "
                           f"unusable, {filtered:,} left out by the filters)")  # fmt: skip
    ratings.write.parquet(output)
    keys = [row["key"] for row in labelled]
    mbids = [row["mbid"] or "" for row in labelled]
    names = [row["name"] or (row["mbid"] or row["key"]) for row in labelled]
    listeners = np.array([row["listeners"] for row in labelled], dtype=np.int64)
    meta = {"source": uri, "dataset_format": fmt, "engine": "spark", "rows_read": read,
            "rows_skipped": skipped, "rows_filtered": filtered,
            "filters": filters.to_json()}  # fmt: skip
    return SparkDataset(output, users.count(), int(listeners.sum()), keys, names, mbids,
                        listeners, meta)  # fmt: skip
