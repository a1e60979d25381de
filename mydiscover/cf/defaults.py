"""The CF engines' defaults, in one place that loads nothing heavy (the command line reads them
for its --help; the engines are built from them).

Chosen by 'mydiscover eval cf' on HetRec Last.fm 2K (see the README's figures).
"""

FACTORS = 64
#: implicit's L2 penalty (summed over a listener's artists).
REGULARIZATION = 20.0
#: Spark's ALS-WR penalty is per rating: 0.5 was the best of 0.05, 0.5 and 1 on HetRec 2K.
SPARK_REGULARIZATION = 0.5
ITERATIONS = 15
#: BM25 scaled to a mean of 1 (see mydiscover.cf.weighting) with alpha 4 beat log1p with alpha
#: 1 on a validation split carved from HetRec 2K's training part (seeds 42 and 7, NDCG@10
#: 0.187 against 0.170; alpha 3 to 7 all within 0.002; 128 factors no better than 64).
ALPHA = 4.0
WEIGHTING = "bm25"
#: Spark's objective weighs a play 1 + alpha * r: its defaults stay those it was checked with
#: (log1p, alpha 1; the local ones were not tried on it).
SPARK_ALPHA = 1.0
SPARK_WEIGHTING = "log"
#: The Spark master when none is given: two cores of this machine.
SPARK_MASTER = "local[2]"
