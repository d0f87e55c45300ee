"""Language identification restricted to the languages we have PII models for."""

from functools import cache

from hybrid_pipelines.pii import SUPPORTED_LANGUAGES

SAMPLE_CHARS = 2000


@cache
def _detector():
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    languages = [
        Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
        for code in SUPPORTED_LANGUAGES
    ]
    return LanguageDetectorBuilder.from_languages(*languages).build()


def detect_language(text: str) -> str:
    """ISO 639-1 code of the text's language; the first supported one when undecidable."""
    detected = _detector().detect_language_of(text[:SAMPLE_CHARS])
    if detected is None:
        return SUPPORTED_LANGUAGES[0]
    return detected.iso_code_639_1.name.lower()
