"""Billing domain: invoice finalization."""
