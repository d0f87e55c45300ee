"""Labelled files kept on-prem and the token model learnt from them."""

from pathlib import Path

import dagster as dg
from pydantic import Field


class EvaluationDatasets(dg.ConfigurableResource):
    """Labelled evaluation files that stay on-prem."""

    paths: list[str] = Field(default_factory=list)

    def span_records(self, chosen: list[str], split: str) -> tuple[list[Path], list]:
        """The files (`chosen`, else the configured ones) and their span-labelled records of
        one split; a clear failure when there are none."""
        from hybrid_pipelines.datasets import LabelledText, load_labelled
        from hybrid_pipelines.evaluation import split_records

        paths = [Path(path) for path in (chosen or self.paths)]
        if not paths:
            raise dg.Failure(
                "no labelled dataset configured: set HYBRID_EVAL_DATASETS or the "
                "asset's `datasets` config"
            )
        records = [
            record
            for path in paths
            for record in split_records(load_labelled(path), split)
            if isinstance(record, LabelledText)
        ]
        if not records:
            raise dg.Failure(
                f"the configured files hold no span-labelled texts in the {split} split "
                "(.json/.jsonl span files; routing CSVs are evaluated by "
                "`hybrid-pipelines evaluate`)"
            )
        return paths, records


class TokenModelFolder(dg.ConfigurableResource):
    """Where the on-prem token model lives. Its weights are learnt from raw labelled text,
    so the folder is on the on-prem volume. While the default folder holds no model,
    detection uses the rule recognizers and spaCy alone; a folder named explicitly
    (`required`, as `HYBRID_TOKEN_MODEL` does) must hold one, so a typo fails the run
    instead of quietly detecting less."""

    path: str
    required: bool = False

    def folder(self) -> Path:
        return Path(self.path)

    def current(self) -> str | None:
        """The folder, as Ray workers take it, if a trained model is saved there; else None."""
        from hybrid_pipelines.token_model import HEADER_FILE

        folder = self.folder()
        if (folder / HEADER_FILE).is_file():
            return str(folder)
        if self.required:
            raise dg.Failure(
                f"no token model in {folder} (HYBRID_TOKEN_MODEL): train one with "
                "`hybrid-pipelines train-detector --out` or the pii_token_model asset, "
                "or unset the variable to detect with the rules alone"
            )
        return None
