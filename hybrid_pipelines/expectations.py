"""Great Expectations 1.x suites over derived columns, with results that echo no value.

The validated frame never holds document text: only ids, languages, lengths, dates and
counts. Results are requested in the BOOLEAN_ONLY format, so GX itself keeps no sample of
unexpected values either.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from hybrid_pipelines.offline import enforce_offline

RESULT_FORMAT = "BOOLEAN_ONLY"


@dataclass(frozen=True)
class SuiteOutcome:
    success: bool
    rows: int
    expectations: dict[str, bool]


def validate_documents(
    rows: Sequence[dict], *, languages: Sequence[str], max_chars: int
) -> SuiteOutcome:
    """Validate document records reduced to doc_id, language, text_length, arrival_date."""
    enforce_offline()

    import great_expectations as gx
    import pandas as pd

    frame = pd.DataFrame(
        [
            {
                "doc_id": row["doc_id"],
                "language": row["language"],
                "text_length": len(row["text"]),
                "arrival_date": row["arrival_date"],
            }
            for row in rows
        ],
        columns=["doc_id", "language", "text_length", "arrival_date"],
    )

    from great_expectations.data_context.types.base import ProgressBarsConfig

    # GX sets its own loggers to INFO on import; its notices are not ours to show.
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("great_expectations"):
            logging.getLogger(name).setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas("documents")
        .add_dataframe_asset("documents")
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    suite = gx.ExpectationSuite(name="raw_documents_suite")
    for expectation in (
        gx.expectations.ExpectColumnValuesToNotBeNull(column="doc_id"),
        gx.expectations.ExpectColumnValuesToBeUnique(column="doc_id"),
        gx.expectations.ExpectColumnValuesToBeInSet(column="language", value_set=list(languages)),
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="text_length", min_value=1, max_value=max_chars
        ),
        gx.expectations.ExpectColumnValuesToMatchRegex(
            column="arrival_date", regex=r"^\d{4}-\d{2}-\d{2}$"
        ),
    ):
        suite.add_expectation(expectation)

    result = batch.validate(suite, result_format=RESULT_FORMAT)
    outcomes = {}
    for item in result.results:
        configuration = item.expectation_config
        outcomes[f"{configuration.type}:{configuration.kwargs.get('column')}"] = bool(item.success)
    return SuiteOutcome(bool(result.success), len(frame), outcomes)
