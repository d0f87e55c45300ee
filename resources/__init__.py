"""Dagster resources: stores per location, privacy keys, Ray compute and the training launcher."""

from resources.keys import PrivacyKeys
from resources.stores import CloudStoreResource, OnPremStoreResource
from resources.training import TrainingLauncher

__all__ = ["CloudStoreResource", "OnPremStoreResource", "PrivacyKeys", "TrainingLauncher"]
