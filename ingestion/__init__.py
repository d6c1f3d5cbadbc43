"""Plain-Python core of the billing warehouse (no Dagster imports).

Settings, the usage-event contract and its validation, meters, Kafka I/O, warehouse access, the
exactly-once landing loop and the serving snapshots the API reads. Dagster wraps these; the API
uses them directly.
"""
