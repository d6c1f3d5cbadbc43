"""Alerts from the warehouse and reconciliation of the real-time figures with it."""
