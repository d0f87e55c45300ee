"""Detection and routing quality on labelled sets: span recall, precision and over-masking.

Reports hold counts and entity types only, never text or entity values, so they can go
into asset metadata and logs. `main(argv)` is the `hybrid-pipelines evaluate` command.
"""

import argparse
import json
import logging
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from hybrid_pipelines.datasets import LabelledMessage, LabelledText, load_labelled

logger = logging.getLogger(__name__)

HELD_OUT_EVERY = 5
SPLITS = ("all", "dev", "heldout")


class Detector(Protocol):
    def detect_batch(self, texts: Sequence[str], languages: Sequence[str]) -> list[list]: ...


@dataclass
class TypeCounts:
    """Recall counts for one gold type and precision counts for one predicted type."""

    gold: int = 0
    found: int = 0
    predicted: int = 0
    correct: int = 0

    @property
    def recall(self) -> float | None:
        return _ratio(self.found, self.gold)

    @property
    def precision(self) -> float | None:
        return _ratio(self.correct, self.predicted)


@dataclass
class DetectionReport:
    """Per-type and overall detection quality; counts and types only."""

    texts: int = 0
    by_type: dict[str, TypeCounts] = field(default_factory=dict)
    pii_chars: int = 0
    non_pii_chars: int = 0
    over_masked_chars: int = 0
    missed_pii_chars: int = 0
    seconds: float = 0.0

    @property
    def gold(self) -> int:
        return sum(counts.gold for counts in self.by_type.values())

    @property
    def found(self) -> int:
        return sum(counts.found for counts in self.by_type.values())

    @property
    def predicted(self) -> int:
        return sum(counts.predicted for counts in self.by_type.values())

    @property
    def correct(self) -> int:
        return sum(counts.correct for counts in self.by_type.values())

    @property
    def recall(self) -> float | None:
        return _ratio(self.found, self.gold)

    @property
    def precision(self) -> float | None:
        return _ratio(self.correct, self.predicted)

    @property
    def over_masking(self) -> float | None:
        """Share of the characters outside every gold span that a prediction covers."""
        return _ratio(self.over_masked_chars, self.non_pii_chars)

    @property
    def char_recall(self) -> float | None:
        """Share of gold PII characters that a prediction covers."""
        return _ratio(self.pii_chars - self.missed_pii_chars, self.pii_chars)

    def counts(self, entity_type: str) -> TypeCounts:
        return self.by_type.setdefault(entity_type, TypeCounts())

    def as_dict(self) -> dict:
        return {
            "texts": self.texts,
            "overall": {
                "gold": self.gold,
                "found": self.found,
                "recall": _rounded(self.recall),
                "predicted": self.predicted,
                "correct": self.correct,
                "precision": _rounded(self.precision),
                "over_masking": _rounded(self.over_masking),
                "char_recall": _rounded(self.char_recall),
                "pii_chars": self.pii_chars,
                "non_pii_chars": self.non_pii_chars,
                "over_masked_chars": self.over_masked_chars,
            },
            "by_type": {
                name: {
                    "gold": counts.gold,
                    "found": counts.found,
                    "recall": _rounded(counts.recall),
                    "predicted": counts.predicted,
                    "correct": counts.correct,
                    "precision": _rounded(counts.precision),
                }
                for name, counts in sorted(self.by_type.items())
            },
            "seconds": round(self.seconds, 2),
        }

    def to_markdown(self) -> str:
        """A table: one row per type (gold types first), then the overall row."""
        lines = [
            "| type | gold | found | recall | predicted | correct | precision |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        ordered = sorted(self.by_type.items(), key=lambda item: (item[1].gold == 0, item[0]))
        for name, counts in ordered:
            lines.append(
                f"| {name} | {counts.gold} | {counts.found} | {_cell(counts.recall)} "
                f"| {counts.predicted} | {counts.correct} | {_cell(counts.precision)} |"
            )
        lines.append(
            f"| **all** | {self.gold} | {self.found} | **{_cell(self.recall)}** "
            f"| {self.predicted} | {self.correct} | {_cell(self.precision)} |"
        )
        lines.append("")
        lines.append(
            f"Texts: {self.texts}. Character over-masking: {_cell(self.over_masking)} "
            f"({self.over_masked_chars} of {self.non_pii_chars} non-PII characters). "
            f"Character recall: {_cell(self.char_recall)}."
        )
        return "\n".join(lines)


def evaluate_detection(
    records: Iterable[LabelledText], detector: Detector, batch_size: int = 256
) -> DetectionReport:
    """Run the detector over labelled texts and count overlaps with the gold spans."""
    report = DetectionReport()
    started = time.perf_counter()
    batch: list[LabelledText] = []
    for record in records:
        batch.append(record)
        if len(batch) >= batch_size:
            _score_batch(batch, detector, report)
            batch = []
    if batch:
        _score_batch(batch, detector, report)

    report.seconds = time.perf_counter() - started
    logger.info(
        "evaluated %d texts: recall %s, precision %s, over-masking %s",
        report.texts,
        _cell(report.recall),
        _cell(report.precision),
        _cell(report.over_masking),
    )
    return report


def score_text(length: int, gold: Sequence, predicted: Sequence, report: DetectionReport) -> None:
    """Add one text's counts to the report.

    `gold` items have `start`, `end` and `label`; `predicted` items have `start`, `end`
    and `entity_type`.
    """
    report.texts += 1
    for span in gold:
        counts = report.counts(span.label)
        counts.gold += 1
        if any(_overlaps(span, found) for found in predicted):
            counts.found += 1
    for found in predicted:
        counts = report.counts(found.entity_type)
        counts.predicted += 1
        if any(_overlaps(span, found) for span in gold):
            counts.correct += 1

    gold_mask = _mask(length, gold)
    predicted_mask = _mask(length, predicted)
    pii = sum(gold_mask)
    report.pii_chars += pii
    report.non_pii_chars += length - pii
    report.over_masked_chars += sum(
        1
        for is_gold, is_predicted in zip(gold_mask, predicted_mask, strict=True)
        if is_predicted and not is_gold
    )
    report.missed_pii_chars += sum(
        1
        for is_gold, is_predicted in zip(gold_mask, predicted_mask, strict=True)
        if is_gold and not is_predicted
    )


def split_records(records: Sequence, split: str) -> list:
    """The development part (index % 5 != 0), the held-out part (index % 5 == 0), or all."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    if split == "all":
        return list(records)
    held_out = split == "heldout"
    return [
        record for index, record in enumerate(records) if (index % HELD_OUT_EVERY == 0) == held_out
    ]


def routing_metrics(
    y_true: Sequence[bool], y_pred: Sequence[bool], subtypes: Sequence[str]
) -> dict:
    """Accuracy, precision, recall and F1 of a sensitive/not-sensitive router, overall and
    per subtype. A ratio with an empty denominator is None."""
    if not len(y_true) == len(y_pred) == len(subtypes):
        raise ValueError(
            f"lengths differ: {len(y_true)} labels, {len(y_pred)} predictions, "
            f"{len(subtypes)} subtypes"
        )

    by_subtype: dict[str, list[tuple[bool, bool]]] = {}
    for truth, guess, subtype in zip(y_true, y_pred, subtypes, strict=True):
        by_subtype.setdefault(subtype, []).append((bool(truth), bool(guess)))

    pairs = [(bool(truth), bool(guess)) for truth, guess in zip(y_true, y_pred, strict=True)]
    return {
        **_binary_metrics(pairs),
        "by_subtype": {name: _binary_metrics(items) for name, items in sorted(by_subtype.items())},
    }


def evaluate_routing(
    messages: Sequence[LabelledMessage], detector: Detector, language: str = "en"
) -> dict:
    """The detector as a router: a message is sensitive when it has any finding."""
    findings = detector.detect_batch(
        [message.text for message in messages], [language] * len(messages)
    )
    return routing_metrics(
        [message.sensitive for message in messages],
        [bool(items) for items in findings],
        [message.subtype for message in messages],
    )


def routing_markdown(metrics: dict) -> str:
    """A table of routing metrics: the overall row, then one per subtype."""
    lines = [
        "| subtype | messages | accuracy | precision | recall | F1 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    rows = [("**all**", metrics), *metrics["by_subtype"].items()]
    for name, values in rows:
        lines.append(
            f"| {name} | {values['count']} | {_cell(values['accuracy'])} "
            f"| {_cell(values['precision'])} | {_cell(values['recall'])} | {_cell(values['f1'])} |"
        )
    return "\n".join(lines)


def _binary_metrics(pairs: Sequence[tuple[bool, bool]]) -> dict:
    counts = Counter(pairs)
    true_positive = counts[(True, True)]
    false_positive = counts[(False, True)]
    false_negative = counts[(True, False)]
    true_negative = counts[(False, False)]
    precision = _ratio(true_positive, true_positive + false_positive)
    recall = _ratio(true_positive, true_positive + false_negative)
    if precision is None or recall is None:
        f1 = None
    elif precision + recall == 0:
        f1 = 0.0
    else:
        f1 = 2 * precision * recall / (precision + recall)
    return {
        "count": len(pairs),
        "accuracy": _ratio(true_positive + true_negative, len(pairs)),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_positive": true_positive,
        "false_positive": false_positive,
        "false_negative": false_negative,
        "true_negative": true_negative,
    }


def _score_batch(batch: list[LabelledText], detector: Detector, report: DetectionReport) -> None:
    predictions = detector.detect_batch(
        [record.text for record in batch], [record.language for record in batch]
    )
    for record, predicted in zip(batch, predictions, strict=True):
        score_text(len(record.text), record.spans, predicted, report)


def _overlaps(left, right) -> bool:
    return left.start < right.end and right.start < left.end


def _mask(length: int, spans: Iterable) -> list[bool]:
    mask = [False] * length
    for span in spans:
        for position in range(max(span.start, 0), min(span.end, length)):
            mask[position] = True
    return mask


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    """`hybrid-pipelines evaluate --dataset FILE [--json]`: detection or routing quality."""
    parser = argparse.ArgumentParser(
        prog="hybrid-pipelines evaluate",
        description="Measure PII detection (span files) or routing (DLP CSV) on a labelled set.",
    )
    parser.add_argument("--dataset", required=True, help="labelled .json, .jsonl or .csv file")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument(
        "--split",
        choices=SPLITS,
        default="all",
        help="dev: index %% 5 != 0; heldout: index %% 5 == 0 (default: all)",
    )
    parser.add_argument("--language", help="language of the texts (default: by format)")
    parser.add_argument("--limit", type=int, help="evaluate only the first N records")
    parser.add_argument(
        "--stock",
        action="store_true",
        help="stock presidio (no custom recognizers) as the baseline",
    )
    parser.add_argument("--score-threshold", type=float, default=None)
    parser.add_argument(
        "--token-model",
        help="folder of a token model from `hybrid-pipelines train-detector` to add to the rules",
    )
    arguments = parser.parse_args(argv)
    if arguments.stock and arguments.token_model:
        parser.error("--stock and --token-model exclude each other")

    from hybrid_pipelines.pii import DEFAULT_SCORE_THRESHOLD, PiiDetector

    try:
        records = load_labelled(arguments.dataset, language=arguments.language)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    records = split_records(records, arguments.split)
    if arguments.limit is not None:
        records = records[: arguments.limit]

    threshold = arguments.score_threshold
    if threshold is None:
        threshold = DEFAULT_SCORE_THRESHOLD
    detector = PiiDetector(
        score_threshold=threshold, enhanced=not arguments.stock, token_model=arguments.token_model
    )
    try:
        detector.token_model  # noqa: B018 - load now: a bad folder is a usage error
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    header = {
        "dataset": str(arguments.dataset),
        "split": arguments.split,
        "records": len(records),
        "detector": "stock presidio" if arguments.stock else "hybrid_pipelines",
    }
    if detector.token_model is not None:
        from hybrid_pipelines.token_model import dataset_sha256

        trained_on = detector.token_model.summary
        if dataset_sha256(arguments.dataset) in trained_on.dataset_sha256 and (
            trained_on.split != "dev" or arguments.split != "heldout"
        ):
            print(
                f"warning: the token model was trained on the {trained_on.split} split of "
                "this file; only --split heldout of a model trained on dev is a fair score",
                file=sys.stderr,
            )
        header["token_model"] = {
            "languages": detector.token_model.languages,
            "trained_on_texts": detector.token_model.summary.texts,
            "trained_on_split": detector.token_model.summary.split,
            "dataset_sha256": detector.token_model.summary.dataset_sha256,
        }

    if records and isinstance(records[0], LabelledMessage):
        from hybrid_pipelines.routing_evaluation import (
            cross_validate_routing,
            routing_report_markdown,
        )

        baselines = {}
        if not arguments.stock:
            stock = PiiDetector(score_threshold=threshold, enhanced=False)
            baselines["any finding (stock presidio)"] = stock
        try:
            report = cross_validate_routing(
                records, detector, baselines=baselines, language=arguments.language or "en"
            )
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        if arguments.json:
            print(json.dumps({**header, "routing": report}, indent=2))
        else:
            print(routing_report_markdown(report))
        return 0

    report = evaluate_detection(records, detector)
    if arguments.json:
        print(json.dumps({**header, "detection": report.as_dict()}, indent=2))
    else:
        print(report.to_markdown())
    return 0


def routing_metrics_rounded(metrics: dict) -> dict:
    """The same metrics with ratios rounded to four places, for reports."""
    return {
        key: (
            routing_metrics_rounded(value)
            if isinstance(value, dict)
            else _rounded(value)
            if isinstance(value, float)
            else value
        )
        for key, value in metrics.items()
    }


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    sys.exit(main())
