"""Switches off every library habit that would open a connection at run time.

Call `enforce_offline()` before presidio, Great Expectations, Hugging Face or Dagster
telemetry can act. The variables are exported so that subprocesses and Ray workers
inherit them.
"""

import os

OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "DAGSTER_DISABLE_TELEMETRY": "1",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_DISABLE_DOCKER_CPU_WARNING": "1",
    "TOKENIZERS_PARALLELISM": "false",
    # Empty list of suffix-list URLs: tldextract falls back to the snapshot in its wheel.
    "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "",
}


def enforce_offline() -> None:
    """Export the offline settings and point tldextract at its bundled suffix list."""
    for name, value in OFFLINE_ENVIRONMENT.items():
        os.environ[name] = value

    import tldextract.tldextract as tld

    if tld.TLD_EXTRACTOR.suffix_list_urls:
        tld.TLD_EXTRACTOR = tld.TLDExtract(
            suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True
        )
