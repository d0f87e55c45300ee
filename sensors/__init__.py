"""Sensors: the inbox watcher, model promotion and failure alerts."""
