"""Plan bodies for the API, one line per charge (the shape of POST /plans, docs/pricing.md)."""

from __future__ import annotations


def tiers(*rows: tuple) -> list[dict]:
    """``(up_to, unit_amount)`` or ``(up_to, unit_amount, flat_amount)`` rows; ``None`` is
    the open last tier."""
    out = []
    for up_to, unit_amount, *flat in rows:
        tier = {"up_to": up_to, "unit_amount": unit_amount}
        if flat:
            tier["flat_amount"] = flat[0]
        out.append(tier)
    return out


def per_unit(meter: str, unit_amount: str, **price) -> dict:
    return {"meter": meter, "price": {"model": "per_unit", "unit_amount": unit_amount, **price}}


def tiered(meter: str, model: str, *rows: tuple, **charge) -> dict:
    """A ``graduated`` or ``volume`` charge of ``tiers(*rows)``; ``charge`` adds e.g. a minimum."""
    return {"meter": meter, "price": {"model": model, "tiers": tiers(*rows)}, **charge}


def plan(code: str, name: str, base_fee: str | dict, *charges: dict, **fields) -> dict:
    """A plan in USD (``currency=`` to change it); ``base_fee`` an amount, or the whole base
    fee (``{"amount": "20", "timing": "in_arrears", "proration": "second"}``)."""
    fee = {"amount": base_fee} if isinstance(base_fee, str) else base_fee
    return {
        "code": code,
        "name": name,
        "currency": "USD",
        "base_fee": fee,
        "charges": list(charges),
        **fields,
    }
