"""Cloud costs: land cost files from a directory, build the cost models."""
