"""Definitions per environment and deployment files; the only place that reads the environment."""
