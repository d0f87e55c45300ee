"""Labelled files kept on-prem and the token model learnt from them."""

from pathlib import Path

import dagster as dg
from pydantic import Field


class EvaluationDatasets(dg.ConfigurableResource):
    """Labelled evaluation files that stay on-prem."""

    paths: list[str] = Field(default_factory=list)


class TokenModelFolder(dg.ConfigurableResource):
    """Where the on-prem token model lives. Its weights are learnt from raw labelled text,
    so the folder is on the on-prem volume; while it holds no model, detection uses the
    rule recognizers and spaCy alone."""

    path: str

    def folder(self) -> Path:
        return Path(self.path)

    def current(self) -> str | None:
        """The folder, as Ray workers take it, if a trained model is saved there; else None."""
        from hybrid_pipelines.token_model import HEADER_FILE

        folder = self.folder()
        return str(folder) if (folder / HEADER_FILE).is_file() else None
