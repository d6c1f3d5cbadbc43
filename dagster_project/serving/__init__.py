"""Publishing the marts as an immutable serving snapshot for the API."""
