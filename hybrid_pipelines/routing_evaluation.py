"""Cross-validated quality of the sensitivity router on a labelled message set (the DLP CSV).

Each message goes through what serving does: PII detection, keyed pseudonymisation,
pseudonyms reduced to `[TYPE]` placeholders, then `routing_model.features`. Stratified
k-fold (by label and subtype, fixed seed) trains a head on k-1 folds and scores the
held-out fold only. Reports hold counts and ratios only, never text or identifiers.
"""

import hashlib
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from hybrid_pipelines import routing_model
from hybrid_pipelines.anonymize import Pseudonymizer
from hybrid_pipelines.datasets import LabelledMessage
from hybrid_pipelines.evaluation import Detector, routing_metrics, routing_metrics_rounded

logger = logging.getLogger(__name__)

DEFAULT_FOLDS = 5
DEFAULT_SEED = 7
DEFAULT_EPOCHS = 60
# Any fixed key will do: the model only reads the `[TYPE]` the pseudonyms reduce to.
EVALUATION_KEY = hashlib.sha256(b"hybrid-pipelines routing evaluation").digest()

Trainer = Callable[[np.ndarray, list[int]], object]
Scorer = Callable[[object, np.ndarray], np.ndarray]


def stratified_folds(strata: Sequence[str], folds: int, seed: int) -> list[list[int]]:
    """Test indices of each fold: every index in exactly one fold, strata spread evenly."""
    if folds < 2:
        raise ValueError(f"cross-validation needs at least 2 folds; got {folds}")
    if len(strata) < folds:
        raise ValueError(f"{len(strata)} records cannot fill {folds} folds")

    by_stratum: dict[str, list[int]] = {}
    for index, stratum in enumerate(strata):
        by_stratum.setdefault(stratum, []).append(index)

    generator = random.Random(seed)
    assigned: list[list[int]] = [[] for _ in range(folds)]
    offset = 0
    for stratum in sorted(by_stratum):
        members = by_stratum[stratum]
        generator.shuffle(members)
        for position, index in enumerate(members):
            assigned[(offset + position) % folds].append(index)
        offset += len(members)
    return [sorted(indices) for indices in assigned]


def routing_inputs(
    messages: Sequence[LabelledMessage],
    detector: Detector,
    *,
    language: str = "en",
    key: bytes = EVALUATION_KEY,
) -> tuple[list[str], list[dict[str, int]], list[list]]:
    """Anonymized texts, entity-type counts and raw findings, as the edge computes them."""
    findings = detector.detect_batch(
        [message.text for message in messages], [language] * len(messages)
    )
    pseudonymizer = Pseudonymizer(key)
    anonymized = [
        pseudonymizer.anonymize(message.text, items)
        for message, items in zip(messages, findings, strict=True)
    ]
    counts = [dict(Counter(item.entity_type for item in items)) for items in findings]
    return anonymized, counts, findings


def cross_validated_probabilities(
    feature_matrix: np.ndarray,
    labels: Sequence[int],
    strata: Sequence[str],
    *,
    folds: int = DEFAULT_FOLDS,
    seed: int = DEFAULT_SEED,
    train: Trainer | None = None,
    score: Scorer | None = None,
) -> tuple[np.ndarray, list[list[int]]]:
    """Out-of-fold probabilities: each record scored by a head that never saw it."""
    train = train or (lambda matrix, y: routing_model.train_head(matrix, y, seed=seed).model)
    score = score or routing_model.predict_proba
    labels = [int(label) for label in labels]

    fold_indices = stratified_folds(strata, folds, seed)
    probabilities = np.full(len(labels), np.nan, dtype=np.float32)
    for held_out in fold_indices:
        held = set(held_out)
        training = [index for index in range(len(labels)) if index not in held]
        model = train(feature_matrix[training], [labels[index] for index in training])
        probabilities[held_out] = score(model, feature_matrix[held_out])

    return probabilities, fold_indices


def cross_validate_routing(
    messages: Sequence[LabelledMessage],
    detector: Detector,
    *,
    baselines: dict[str, Detector] | None = None,
    folds: int = DEFAULT_FOLDS,
    seed: int = DEFAULT_SEED,
    epochs: int = DEFAULT_EPOCHS,
    language: str = "en",
    device: str | None = None,
) -> dict:
    """The model's cross-validated routing figures, plus "any finding = sensitive" baselines.

    Features are computed once per message (embeddings cached across folds); they hold no
    state fitted to data, so sharing them between folds leaks nothing.
    """
    if len(messages) < folds:
        raise ValueError(f"{len(messages)} records cannot fill {folds} folds")

    started = time.perf_counter()
    anonymized, counts, findings = routing_inputs(messages, detector, language=language)
    feature_matrix = routing_model.features(anonymized, counts, device=device)

    labels = [int(message.sensitive) for message in messages]
    subtypes = [message.subtype for message in messages]
    categories = [message.category for message in messages]
    strata = [f"{label}|{subtype}" for label, subtype in zip(labels, subtypes, strict=True)]

    probabilities, fold_indices = cross_validated_probabilities(
        feature_matrix,
        labels,
        strata,
        folds=folds,
        seed=seed,
        train=lambda matrix, y: routing_model.train_head(matrix, y, epochs=epochs, seed=seed).model,
    )
    predicted = [bool(value >= 0.5) for value in probabilities]
    truth = [bool(label) for label in labels]

    model = routing_metrics(truth, predicted, subtypes)
    model["by_category"] = routing_metrics(truth, predicted, categories)["by_subtype"]
    model["by_fold"] = [
        round(sum(truth[index] == predicted[index] for index in indices) / len(indices), 4)
        for indices in fold_indices
    ]

    baseline_findings = {"any finding (this detector)": findings}
    for name, baseline in (baselines or {}).items():
        baseline_findings[name] = baseline.detect_batch(
            [message.text for message in messages], [language] * len(messages)
        )
    baseline_metrics = {
        name: routing_metrics(truth, [bool(items) for items in items_per_message], subtypes)
        for name, items_per_message in baseline_findings.items()
    }

    seconds = time.perf_counter() - started
    report = {
        "records": len(messages),
        "protocol": {
            "cross_validation": f"stratified {folds}-fold by label and subtype",
            "folds": folds,
            "seed": seed,
            "fold_sizes": [len(indices) for indices in fold_indices],
            "epochs": epochs,
            "threshold": 0.5,
            "input": "anonymized text with [TYPE] placeholders + entity-type counts",
            "features": routing_model.FEATURE_DIM,
        },
        "model": routing_metrics_rounded(model),
        "baselines": {
            name: routing_metrics_rounded(value) for name, value in baseline_metrics.items()
        },
        "seconds": round(seconds, 2),
    }
    logger.info(
        "routing cross-validation on %d messages: accuracy %.4f in %.1f s",
        len(messages),
        model["accuracy"] or 0.0,
        seconds,
    )
    return report


def routing_report_markdown(report: dict) -> str:
    """Model rows per subtype and per category, then one line per baseline."""
    lines = [
        "| group | messages | accuracy | precision | recall | F1 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    model = report["model"]
    rows = [
        ("**all**", model),
        *model["by_subtype"].items(),
        *((f"category: {name}", values) for name, values in model["by_category"].items()),
    ]
    lines.extend(_row(name, values) for name, values in rows)
    for name, values in report["baselines"].items():
        lines.append(_row(f"baseline: {name}", values))

    protocol = report["protocol"]
    lines.append("")
    lines.append(
        f"Model: {protocol['cross_validation']}, seed {protocol['seed']}, "
        f"{protocol['epochs']} epochs, threshold {protocol['threshold']}; "
        f"fold accuracies {', '.join(f'{value:.3f}' for value in model['by_fold'])}."
    )
    return "\n".join(lines)


def _row(name: str, values: dict) -> str:
    return (
        f"| {name} | {values['count']} | {_cell(values['accuracy'])} "
        f"| {_cell(values['precision'])} | {_cell(values['recall'])} | {_cell(values['f1'])} |"
    )


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"
