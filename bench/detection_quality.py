"""Throughput of our detector against stock presidio on the English labelled set.

Run: .venv/bin/python bench/detection_quality.py [--dataset FILE] [--token-model DIR]

With `--token-model` a third detector is timed: ours plus the fine-tuned token model (which
then stands in for spaCy's name entities).
"""

import argparse
import json
import time
from pathlib import Path

from hybrid_pipelines.datasets import load_labelled
from hybrid_pipelines.pii import PiiDetector

DEFAULT_DATASET = Path(__file__).resolve().parents[2] / "shared" / "data" / "pii_en_synthetic.json"


def texts_per_second(detector: PiiDetector, texts: list[str], language: str) -> float:
    detector.detect_batch(texts[:64], [language] * 64)

    started = time.perf_counter()
    detector.detect_batch(texts, [language] * len(texts))
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default=str(DEFAULT_DATASET))
    parser.add_argument("--language", default="en")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--token-model", help="folder from `hybrid-pipelines train-detector`")
    arguments = parser.parse_args()

    texts = [record.text for record in load_labelled(arguments.dataset)]
    stock = PiiDetector(languages=[arguments.language], batch_size=64, enhanced=False)
    detectors = {
        "stock": stock,
        "ours": PiiDetector(languages=[arguments.language], batch_size=64),
    }
    if arguments.token_model:
        detectors["ours_with_token_model"] = PiiDetector(
            languages=[arguments.language], batch_size=64, token_model=arguments.token_model
        )

    figures: dict[str, list[float]] = {name: [] for name in detectors}
    for _ in range(arguments.rounds):
        for name, detector in detectors.items():
            figures[name].append(texts_per_second(detector, texts, arguments.language))

    best = {name: max(rates) for name, rates in figures.items()}
    report = {"texts": len(texts), "language": arguments.language}
    for name, rate in best.items():
        report[f"{name}_texts_per_s"] = round(rate, 1)
        if name != "stock":
            report[f"{name}_ratio"] = round(rate / best["stock"], 3)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
