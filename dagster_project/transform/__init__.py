"""dbt: the warehouse models, as Dagster assets with tests as asset checks."""
