"""Dagster code location: assembles the domain modules in ``definitions.py``."""
