"""Work that runs on Ray workers: PII detection and routing, batched per worker.

Each worker loads its models once and handles many batches, so a backfill of many
partitions costs one model load per worker, not one per partition. The same code runs on
a local Ray instance and on a KubeRay cluster.
"""

import contextlib
import functools
import logging
import os
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path

import ray

logger = logging.getLogger(__name__)


RAY_CLUSTER_CONFIG = "ray_bootstrap_config.yaml"


@contextlib.contextmanager
def air_gapped_ray_home(folder: Path) -> Iterator[None]:
    """Start local Ray processes with HOME pointing at `folder`.

    Ray's dashboard labels its usage report with the cloud it runs on, and when it finds no
    cluster config in `~/ray_bootstrap_config.yaml` it asks the cloud metadata endpoints
    (169.254.169.254 and friends) - even with usage stats disabled. A local-provider config
    in a HOME of our own answers the question without a request. Only the processes that
    `ray.init` starts inside this block see the new HOME; it is restored afterwards.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / RAY_CLUSTER_CONFIG).write_text("provider:\n  type: local\n")
    # Ray's token authentication: the driver keeps the token of the first cluster it joined,
    # and a second local cluster started from the same process (a new HOME, a new token
    # file) would refuse it. One token per process, for every cluster it starts, unless the
    # deployment set one.
    os.environ.setdefault("RAY_AUTH_TOKEN", _process_ray_token())
    previous = os.environ.get("HOME")
    os.environ["HOME"] = str(folder)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("HOME", None)
        else:
            os.environ["HOME"] = previous


@functools.cache
def _process_ray_token() -> str:
    return secrets.token_hex(32)


def _chunks(items: Sequence, size: int) -> list[tuple[int, int]]:
    return [(start, min(start + size, len(items))) for start in range(0, len(items), size)]


class _DetectionWorker:
    def __init__(
        self, languages: Sequence[str], score_threshold: float, token_model: str | None
    ) -> None:
        from hybrid_pipelines.pii import PiiDetector

        self.detector = PiiDetector(
            languages=languages, score_threshold=score_threshold, token_model=token_model
        )

    def detect(self, texts: Sequence[str], languages: Sequence[str]) -> list[list[dict]]:
        return [
            [finding.as_record() for finding in findings]
            for findings in self.detector.detect_batch(texts, languages)
        ]


class DetectionPool:
    """Ray actors that each hold a loaded detector, reused for every call in a Ray session.

    Creating the actors costs a process start and a model load each; within one run the
    detection stage and the egress gate's second scan share them.
    """

    def __init__(
        self,
        supported_languages: Sequence[str],
        score_threshold: float,
        workers: int,
        token_model: str | None = None,
    ) -> None:
        actor = ray.remote(num_cpus=1)(_DetectionWorker)
        self.actors = [
            actor.remote(tuple(supported_languages), score_threshold, token_model)
            for _ in range(max(1, workers))
        ]
        self.session = _ray_session()

    def detect(
        self, texts: Sequence[str], languages: Sequence[str], batch_size: int = 64
    ) -> list[list[dict]]:
        """Findings for each text; input order is kept."""
        from ray.util import ActorPool

        if not texts:
            return []
        pool = ActorPool(self.actors)
        batches = pool.map(
            lambda worker, span: worker.detect.remote(
                texts[span[0] : span[1]], languages[span[0] : span[1]]
            ),
            _chunks(texts, batch_size),
        )
        return [findings for batch in batches for findings in batch]


_pools: dict[tuple, DetectionPool] = {}


def _ray_session() -> tuple[str, str]:
    """Identifies one connection to one Ray cluster: job ids restart at 01 on a new local
    cluster, so the node id is part of it."""
    context = ray.get_runtime_context()
    return context.get_node_id(), context.get_job_id()


def detection_pool(
    supported_languages: Sequence[str],
    score_threshold: float,
    workers: int,
    token_model: str | None = None,
) -> DetectionPool:
    """The pool of this configuration in the current Ray session, created on first use.

    A token model retrained in place (a new header) gets a new pool.
    """
    version = _model_version(token_model)
    key = (tuple(supported_languages), score_threshold, workers, token_model, version)
    pool = _pools.get(key)
    if pool is None or pool.session != _ray_session():
        pool = _pools[key] = DetectionPool(
            supported_languages, score_threshold, workers, token_model
        )
    return pool


def _model_version(token_model: str | None) -> int | None:
    if token_model is None:
        return None
    from hybrid_pipelines.token_model import HEADER_FILE

    header = Path(token_model) / HEADER_FILE
    return header.stat().st_mtime_ns if header.is_file() else None


def detect_on_ray(
    texts: Sequence[str],
    languages: Sequence[str],
    *,
    supported_languages: Sequence[str],
    score_threshold: float,
    workers: int,
    batch_size: int = 64,
    token_model: str | None = None,
) -> list[list[dict]]:
    """Findings for each text, computed by the session's pool of Ray actors; with the
    folder of a token model, every worker loads it beside the rules."""
    if not texts:
        return []
    pool = detection_pool(supported_languages, score_threshold, workers, token_model)
    return pool.detect(texts, languages, batch_size)


def _route_chunk(weights: bytes, texts: Sequence[str], counts: Sequence[dict]) -> list[float]:
    from hybrid_pipelines import routing_model

    model = routing_model.deserialise(weights, name="edge model")
    device = routing_model.default_device()
    model.to(device)
    matrix = routing_model.features(texts, counts, device=device)
    return [float(value) for value in routing_model.predict_proba(model.cpu(), matrix)]


def route_on_ray(
    weights: bytes, texts: Sequence[str], counts: Sequence[dict], *, chunk_size: int = 512
) -> tuple[list[float], str]:
    """Sensitivity probabilities per document, on GPU workers where the cluster has them."""
    if not texts:
        return [], "none"

    gpus = ray.cluster_resources().get("GPU", 0)
    device = "gpu" if gpus else "cpu"
    task = ray.remote(num_gpus=1 if gpus else 0, num_cpus=1)(_route_chunk)
    weights_ref = ray.put(weights)
    futures = [
        task.remote(weights_ref, texts[start:end], counts[start:end])
        for start, end in _chunks(texts, chunk_size)
    ]
    return [value for chunk in ray.get(futures) for value in chunk], device
