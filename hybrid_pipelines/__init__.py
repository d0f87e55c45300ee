"""Domain core of the hybrid edge/cloud pipelines: importable without Dagster."""

import logging

logging.getLogger(__name__).addHandler(logging.NullHandler())

__version__ = "0.1.0"
