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
ALPHA = 1.0
WEIGHTING = "log"
#: The Spark master when none is given: two cores of this machine.
SPARK_MASTER = "local[2]"
