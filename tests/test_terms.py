"""TF-IDF terms, and the text model measured as a recommender."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from mydiscover.cf.datasets import read_dataset
from mydiscover.cf.evaluate import evaluate, holdout_split
from mydiscover.cf.models import MostPopular
from mydiscover.text.evaluate import TextProfile, hetrec_tag_documents
from mydiscover.text.terms import evidence, keep_top_terms, strip_names, tfidf_top_terms
from tests.colistening import write_hetrec, write_hetrec_tags
from tests.conftest import run_cli


def test_an_entity_loses_its_own_name():
    text = "Slowdive's Souvlaki: SLOWDIVE at their dreamiest, souvlaki-sweet."
    stripped = strip_names(text, ("Slowdive", "Souvlaki"))
    assert "slowdive" not in stripped.lower() and "souvlaki" not in stripped.lower()
    assert "dreamiest" in stripped


def test_stop_words_numbers_and_one_off_phrases_are_not_terms():
    texts = [
        "The album was released in 1993; a dreamy shoegaze record with lush reverb.",
        "Another band's debut album: dreamy shoegaze, 12 tracks, ethereal vocals.",
        "A thrash metal album of aggressive riffs and heavy drums.",
    ]
    tops = tfidf_top_terms(texts, top=50)
    terms = {term for row in tops for term, _ in row}
    assert {"dreamy", "shoegaze", "dreamy shoegaze", "thrash", "riffs"} <= terms
    assert not {"album", "released", "band", "record", "tracks", "debut", "the", "1993"} & terms
    assert "lush reverb" not in terms  # a phrase only one text uses is not a term
    first = dict(tops[0])
    assert first["lush"] > first["dreamy"]  # rarer across texts weighs more
    assert all(np.isclose(sum(w * w for _, w in row), 1.0, atol=1e-4) for row in tops)


def test_texts_with_no_usable_words_give_no_terms():
    assert tfidf_top_terms(["the and of", "album released"]) == [[], []]


def test_keeping_the_top_terms_renormalises():
    matrix = sp.csr_matrix(np.array([[0.1, 0.7, 0.2, 0.68]], dtype=np.float32))
    kept = keep_top_terms(matrix, top=2).toarray()[0]
    assert np.count_nonzero(kept) == 2 and kept[1] > 0 and kept[3] > 0
    assert np.isclose(np.linalg.norm(kept), 1.0)


def test_evidence_grows_with_the_words_and_never_reaches_one():
    trust = evidence(np.array([0.0, 3.0, 30.0, 3000.0]))
    assert trust[0] == 0 and np.all(np.diff(trust) > 0) and trust[-1] < 1
    assert trust[2] == pytest.approx(0.5)


@pytest.fixture
def tagged(tmp_path):
    return write_hetrec_tags(write_hetrec(tmp_path / "hetrec"))


def test_hetrec_tags_become_each_artists_document(tagged):
    documents = hetrec_tag_documents(tagged)
    assert len(documents) == 60
    words = set(documents["shoegaze artist 0"].replace(",", " ").split())
    assert words & {"shoegaze", "dream", "ethereal", "reverb"}


def test_the_text_model_alone_beats_popularity_on_planted_tags(tagged):
    data = read_dataset(tagged, "auto")
    split = holdout_split(data.plays, 0.25, seed=42)
    popular = evaluate(MostPopular(), split).metrics
    text = evaluate(TextProfile(data.keys, hetrec_tag_documents(tagged)), split).metrics
    assert text["ndcg"] > 1.2 * popular["ndcg"]
    assert text["coverage"] > popular["coverage"]


def test_eval_text_reports_both_models(tagged, cli_env):
    result = run_cli(cli_env, "eval", "text", "--dataset", str(tagged), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [row["model"] for row in report["results"]] == ["popular", "text"]
    missing = run_cli(cli_env, "eval", "text", "--dataset", str(tagged.parent / "nowhere"))
    assert missing.returncode == 1 and "no such file or folder" in missing.stderr


def test_eval_weekly_blends_cf_and_text_beside_each_alone(tagged, cli_env):
    result = run_cli(cli_env, "eval", "weekly", "--hetrec", str(tagged), "--k", "10", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["model"]: row for row in json.loads(result.stdout)["results"]}
    assert set(rows) == {"popular", "als", "text", "blend"}
    assert rows["blend"]["precision"] > rows["popular"]["precision"]
    bad = run_cli(cli_env, "eval", "weekly", "--hetrec", str(tagged), "--weights", "x=1")
    assert bad.returncode == 1 and "unknown signal" in bad.stderr


def test_blended_recommender_is_rank_fusion_of_its_parts(tagged):
    from mydiscover.recommend.blend import RRF_K
    from mydiscover.recommend.evaluate import BlendedRecommender

    data = read_dataset(tagged, "auto")

    class Fixed:
        name = "fixed"

        def __init__(self, order):
            self.order = order

        def fit(self, plays):
            pass

        def score(self, plays):
            return np.tile(self.order, (plays.shape[0], 1)).astype(np.float32)

    n = data.plays.shape[1]
    ascending, descending = np.arange(n, dtype=float), np.arange(n, 0, -1, dtype=float)
    blend = BlendedRecommender({"a": (Fixed(ascending), 1.0), "b": (Fixed(descending), 2.0)})
    blend.fit(data.plays)
    empty = sp.csr_matrix((1, n), dtype=np.float32)
    scores = blend.score(empty)[0]
    assert scores[n - 1] == pytest.approx(1 / (RRF_K + 1) + 2 / (RRF_K + n))
    assert scores[0] == pytest.approx(1 / (RRF_K + n) + 2 / (RRF_K + 1))
    assert np.argmax(scores) == 0  # the heavier part wins
