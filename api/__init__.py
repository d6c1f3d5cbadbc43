"""The FastAPI service: serves the marts and manages the control plane. Never imports Dagster."""
