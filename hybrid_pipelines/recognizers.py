"""Recognizers added to presidio's defaults, per language."""

from presidio_analyzer import EntityRecognizer


def custom_recognizers(language: str) -> list[EntityRecognizer]:
    """Extra recognizers for one language (none yet beyond presidio's defaults)."""
    return []
