"""Control plane domain: snapshots of the API-managed records into the warehouse."""
