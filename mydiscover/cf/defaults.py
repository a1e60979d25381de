"""The CF engines' defaults, in one place that loads nothing heavy (the command line reads them
for its --help; the engines are built from them).

Chosen by 'mydiscover eval cf' on HetRec Last.fm 2K (see the README's figures).
"""

#: The local engine's factors, regularisation, iterations and alpha: chosen by
#: tools/tune_cf.py on validation splits carved from the training parts of HetRec 2K's
#: holdout splits at seeds 42 and 7 (the test parts never read), over three grids (factors 32
#: to 128, iterations 15 and 30, regularisation 5 to 120, alpha 2 to 24): the cheapest within
#: 0.001 of the best mean validation NDCG@10, 0.1907 (the former 64, 20, 15, 4: 0.1869).
#: Regularisation and alpha rise together: the best ratio stays near 1:5. They suit sparse
#: public data (HetRec 2K fills 0.3% of its cells); far smaller, denser data wants less of
#: both (the planted data of tests/colistening.py does best near 20 and 4).
FACTORS = 96
#: implicit's L2 penalty (summed over a listener's artists).
REGULARIZATION = 80.0
#: Spark's ALS-WR penalty is per rating: 0.5 was the best of 0.05, 0.5 and 1 on HetRec 2K.
SPARK_REGULARIZATION = 0.5
ITERATIONS = 15
#: BM25 scaled to a mean of 1 (see mydiscover.cf.weighting): it beat log1p with alpha 1 on
#: the same validation splits (NDCG@10 0.187 against 0.170, at the former factors).
ALPHA = 16.0
WEIGHTING = "bm25"
#: Spark's objective weighs a play 1 + alpha * r: log1p, alpha 1 and 0.5 per artist were the
#: best of 'tools/tune_cf.py HETREC --engine als-spark --weighting bm25 log --factors 96
#: --iterations 15 --regularization 0.05 0.2 0.5 --alpha 1 4 16' on the validation splits of
#: seeds 42 and 7 (mean NDCG@10 0.1857; the best BM25 one, 0.2 and alpha 1: 0.1822; the
#: local engine's defaults there: 0.1907).
SPARK_ALPHA = 1.0
SPARK_WEIGHTING = "log"
#: The Spark master when none is given: two cores of this machine.
SPARK_MASTER = "local[2]"
