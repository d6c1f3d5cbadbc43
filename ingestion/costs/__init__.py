"""Cloud cost files: format detection, normalisation and landing (plain Python)."""
