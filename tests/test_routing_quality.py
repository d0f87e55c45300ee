"""Routing quality: the cross-validation split, the router's features, and a DLP-set floor."""

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from hybrid_pipelines import routing_model
from hybrid_pipelines.anonymize import Pseudonymizer
from hybrid_pipelines.datasets import load_labelled
from hybrid_pipelines.pii import Finding
from hybrid_pipelines.routing_evaluation import (
    cross_validate_routing,
    cross_validated_probabilities,
    routing_report_markdown,
    stratified_folds,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DLP = DATA / "dlp_sensitivity_dev.csv"
FLOOR = 0.85


def test_folds_partition_every_index_once_and_spread_strata():
    strata = ["a"] * 23 + ["b"] * 11 + ["c"] * 6

    folds = stratified_folds(strata, 5, seed=3)

    flat = [index for fold in folds for index in fold]
    assert sorted(flat) == list(range(len(strata)))
    assert max(len(fold) for fold in folds) - min(len(fold) for fold in folds) <= 1
    for stratum, total in Counter(strata).items():
        per_fold = [sum(strata[index] == stratum for index in fold) for fold in folds]
        assert max(per_fold) - min(per_fold) <= 1, (stratum, total, per_fold)
    assert stratified_folds(strata, 5, seed=3) == folds
    assert stratified_folds(strata, 5, seed=4) != folds
    with pytest.raises(ValueError, match="at least 2 folds"):
        stratified_folds(strata, 1, seed=3)


def test_no_record_is_scored_by_a_head_that_trained_on_it():
    count = 40
    matrix = np.arange(count, dtype=np.float32).reshape(-1, 1)
    labels = [index % 2 for index in range(count)]
    strata = [str(label) for label in labels]
    seen: list[set[int]] = []
    scored: list[set[int]] = []

    def train(features, _labels):
        seen.append({int(value) for value in features[:, 0]})
        return len(seen) - 1

    def score(model, features):
        scored.append({int(value) for value in features[:, 0]})
        assert not seen[model] & scored[-1]
        return np.full(len(features), 0.25, dtype=np.float32)

    probabilities, folds = cross_validated_probabilities(
        matrix, labels, strata, folds=4, seed=1, train=train, score=score
    )

    assert len(seen) == len(scored) == 4
    assert set().union(*scored) == set(range(count))
    for trained, held_out in zip(seen, scored, strict=True):
        assert trained | held_out == set(range(count))
    assert [set(fold) for fold in folds] == scored
    assert not np.isnan(probabilities).any()


def test_text_features_read_placeholders_typos_and_questions():
    key = b"k" * 32
    text = "My name is Anna Berg"
    anonymized = Pseudonymizer(key).anonymize(text, [Finding(11, 20, "PERSON", 0.9)])
    model_text = routing_model.model_text(anonymized)

    plain, spaced, question = routing_model.text_features(
        [model_text, "My P I N is 2 5 8 0", "What is the PIN format?"]
    )
    shape = {name: index for index, name in enumerate(routing_model.SHAPE_FEATURES)}

    assert model_text == "My name is [PERSON]"
    assert plain.shape == (len(routing_model.SHAPE_FEATURES) + routing_model.NGRAM_BUCKETS,)
    assert question[shape["question_mark"]] == 1.0 and plain[shape["question_mark"]] == 0.0
    assert spaced[shape["single_character_tokens"]] > 0.5
    assert plain[shape["first_person"]] == 1.0
    ngrams = plain[len(routing_model.SHAPE_FEATURES) :]
    assert np.linalg.norm(ngrams) == pytest.approx(1.0)
    assert np.array_equal(routing_model.ngram_vector("Anna"), routing_model.ngram_vector("anna"))
    assert routing_model.ngram_vector("").sum() == 0.0


def test_features_train_and_survive_serialisation():
    texts = ["My card is <CREDIT_CARD_0123456789>", "What is a card number?"] * 4
    counts = [{"CREDIT_CARD": 1}, {}] * 4

    matrix = routing_model.features(texts, counts, device="cpu")
    result = routing_model.train_head(matrix, [1, 0] * 4, epochs=30, seed=1)
    restored = routing_model.deserialise(routing_model.serialise(result.model), name="t")

    assert matrix.shape == (8, routing_model.FEATURE_DIM)
    assert result.train_metrics["accuracy"] == 1.0
    assert np.allclose(
        routing_model.predict_proba(restored, matrix),
        routing_model.predict_proba(result.model, matrix),
    )
    legacy = routing_model.SensitivityHead(
        routing_model.EMBEDDING_DIM + len(routing_model.ENTITY_FEATURES)
    )
    assert len(routing_model.predict(legacy, matrix)) == 8
    with pytest.raises(ValueError, match="feature columns"):
        routing_model.predict_proba(result.model, matrix[:, :10])


def test_evaluate_command_refuses_a_set_too_small_for_the_folds(tmp_path, capsys):
    from hybrid_pipelines.evaluation import main

    path = tmp_path / "tiny.csv"
    path.write_text(
        "Example ID,Category,Point,Type,Subtype,Example,Explanation\n"
        "1,Contact,p,Positive,Direct,My name is Bob,why\n"
        "2,Contact,p,Negative,Direct,What is a name?,why\n"
    )

    assert main(["--dataset", str(path)]) == 2
    assert "2 records cannot fill 5 folds" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(
    not DLP.is_file(), reason=f"shared labelled data not found at {DATA} (outside the checkout)"
)
def test_cross_validated_routing_on_a_dlp_sample():
    from hybrid_pipelines.pii import PiiDetector

    everything = load_labelled(DLP)
    strata = [f"{message.sensitive}|{message.subtype}" for message in everything]
    half = stratified_folds(strata, 2, seed=11)[0]
    messages = [everything[index] for index in half]

    report = cross_validate_routing(messages, PiiDetector(languages=["en"]), folds=5, seed=7)

    model = report["model"]
    assert report["records"] == len(messages) == 300
    assert model["accuracy"] > FLOOR
    assert model["accuracy"] > report["baselines"]["any finding (this detector)"]["accuracy"]
    assert set(model["by_subtype"]) == {"Direct", "Typo", "Contextual", "False Keywords"}
    assert all(values["accuracy"] > 0.75 for values in model["by_subtype"].values())
    assert len(model["by_category"]) == 10
    encoded = (json.dumps(report) + routing_report_markdown(report)).lower()
    for message in messages:
        words = message.text.lower().split()
        windows = {" ".join(words[start : start + 5]) for start in range(len(words) - 4)}
        assert not [window for window in windows if window in encoded]
