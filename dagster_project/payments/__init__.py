"""Payments domain: Stripe collection of finalized invoices, retries."""
