"""TF-IDF terms, and the text model measured as a recommender."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from mydiscover.cf.datasets import read_dataset
from mydiscover.cf.evaluate import evaluate, holdout_split
from mydiscover.cf.models import MostPopular
from mydiscover.text.evaluate import TextProfile, hetrec_tag_documents, tag_documents
from mydiscover.text.terms import evidence, keep_top_terms, strip_names, tfidf_top_terms
from tests.colistening import write_hetrec, write_hetrec_tags
from tests.helpers import run_cli


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


def test_eval_weekly_on_hetrec_runs_every_method_through_the_weeklys_rules(tagged, cli_env):
    result = run_cli(cli_env, "eval", "weekly", "--hetrec", str(tagged), "--k", "10",
                     "--unknown-share", "0.5", "--seeds", "1,2", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [seed["seed"] for seed in report["seeds"]] == [1, 2]
    for seed in report["seeds"]:
        rows = {row["method"]: row for row in seed["results"]}
        assert set(rows) == {"blend", "cf", "cf+cold", "text", "popular", "random"}
        assert rows["blend"]["precision"] > rows["popular"]["precision"] > 0
        assert rows["cf"]["hidden_share"] == 0  # CF alone cannot score the hidden artists...
        assert rows["blend"]["hidden_share"] > 0.2  # ...the blend estimates and picks them
        assert seed["blend_vs_best_single"]["against"] in {"cf", "text"}
        low, high = (seed["blend_vs_best_single"][k] for k in ("low", "high"))
        assert low <= seed["blend_vs_best_single"]["gain"] <= high
    bad = run_cli(cli_env, "eval", "weekly", "--hetrec", str(tagged), "--weights", "x=1")
    assert bad.returncode == 1 and "unknown signal" in bad.stderr
    seeds = run_cli(cli_env, "eval", "weekly", "--hetrec", str(tagged), "--seeds", "a,b")
    assert seeds.returncode == 1 and "--seeds" in seeds.stderr


def test_a_held_out_listeners_own_tags_of_held_out_artists_stay_out_of_the_text(tagged):
    from mydiscover.text.evaluate import HetrecTags, hetrec_tag_applications, hetrec_user_rows

    data = read_dataset(tagged, "auto")
    users = hetrec_user_rows(tagged)
    applications = hetrec_tag_applications(tagged)
    column = {key: index for index, key in enumerate(data.keys)}
    tagged_and_played = [
        a for a in applications
        if a.user in users and a.artist in column
        and data.plays[users[a.user], column[a.artist]] > 0
    ]  # fmt: skip
    assert tagged_and_played  # the fixture has listeners who tag what they play
    split = holdout_split(data.plays, 0.5, seed=3)
    tags = HetrecTags(applications, users, data.plays)
    honest = tags.documents(split.train, data.keys)
    everything = hetrec_tag_documents(tagged)
    held = {(a.user, a.artist) for a in tagged_and_played
            if split.test[users[a.user], column[a.artist]] > 0}  # fmt: skip
    assert held
    kept = [a for a in applications if (a.user, a.artist) not in held]
    assert honest == tag_documents(kept) and honest != everything


def test_a_learned_blend_weighs_the_signal_that_predicts_plays():
    from mydiscover.recommend.blend import learn_blend

    rng = np.random.default_rng(5)
    informative, noise = rng.standard_normal(4000), rng.standard_normal(4000)
    played = rng.random(4000) < 1 / (1 + np.exp(-(2.0 * informative - 2.0)))
    judged = np.ones(4000)
    features = np.column_stack([informative, noise, judged, judged])
    blend = learn_blend(features, played, ["cf", "text"], "test")
    assert blend.weights["cf"] == pytest.approx(2.0, abs=0.3)
    assert blend.weights["text"] < 0.15
    assert "cf 2." in blend.described() and blend.source == "test"
