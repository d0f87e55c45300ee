"""Throughput of our detector against stock presidio on the English labelled set.

Run: .venv/bin/python bench/detection_quality.py [--dataset ../shared/data/pii_en_synthetic.json]
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
    arguments = parser.parse_args()

    texts = [record.text for record in load_labelled(arguments.dataset)]
    stock = PiiDetector(languages=[arguments.language], batch_size=64, enhanced=False)
    ours = PiiDetector(languages=[arguments.language], batch_size=64)

    figures = {"stock": [], "ours": []}
    for _ in range(arguments.rounds):
        figures["stock"].append(texts_per_second(stock, texts, arguments.language))
        figures["ours"].append(texts_per_second(ours, texts, arguments.language))

    best_stock, best_ours = max(figures["stock"]), max(figures["ours"])
    print(
        json.dumps(
            {
                "texts": len(texts),
                "stock_texts_per_s": round(best_stock, 1),
                "ours_texts_per_s": round(best_ours, 1),
                "ratio": round(best_ours / best_stock, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
