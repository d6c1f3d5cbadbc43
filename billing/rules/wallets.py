"""Wallets: which grants pay an invoice, in which order, and what expires.

A tenant holds wallets per currency; each wallet holds grants (paid, promotional, recurring,
contract). Grants are never changed: what is left of one is derived from the ledger (the grant,
minus what invoices consumed, plus what voids reversed, minus its breakage). These functions are
pure; finalization (``billing.rules.finalization``) feeds them the grants and the ledger.

Burn order: the wallet's priority (1 burns first), then the soonest expiry (a grant that never
expires last), then the oldest grant, then the grant id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

GRANT_KINDS = ("paid", "promotional", "recurring", "contract")
ENTRY_KINDS = ("grant", "consumption", "breakage", "reversal")
ZERO = Decimal(0)


@dataclass(frozen=True)
class GrantBalance:
    """A grant and what is left of it."""

    grant_id: int
    wallet_id: int
    wallet_priority: int
    granted_at: datetime
    expires_at: datetime | None
    remaining: Decimal


@dataclass(frozen=True)
class Burn:
    grant_id: int
    wallet_id: int
    amount: Decimal


def burn_key(grant: GrantBalance) -> tuple:
    """Sort key of the burn order."""
    return (
        grant.wallet_priority,
        grant.expires_at is None,
        grant.expires_at or datetime.max,
        grant.granted_at,
        grant.grant_id,
    )


def usable_at(grant: GrantBalance, at: datetime) -> bool:
    """A grant pays an invoice whose period ends at ``at`` if it was granted before then and
    does not expire before then (a grant expiring at a period's end pays that period: a
    contract's prepaid commit pays the term's last invoice)."""
    return grant.granted_at < at and (grant.expires_at is None or grant.expires_at >= at)


def burn(amount_due: Decimal, grants: Iterable[GrantBalance], at: datetime) -> list[Burn]:
    """What each grant pays of ``amount_due`` (in burn order, each at most down to zero)."""
    burns: list[Burn] = []
    left = amount_due
    for grant in sorted(grants, key=burn_key):
        if left <= ZERO:
            break
        if grant.remaining <= ZERO or not usable_at(grant, at):
            continue
        take = min(left, grant.remaining)
        burns.append(Burn(grant.grant_id, grant.wallet_id, take))
        left -= take
    return burns


def expired(grants: Iterable[GrantBalance], now: datetime) -> list[Burn]:
    """Breakage: the remainder of every grant expired by ``now``."""
    return [
        Burn(g.grant_id, g.wallet_id, g.remaining)
        for g in sorted(grants, key=burn_key)
        if g.expires_at is not None and g.expires_at <= now and g.remaining > ZERO
    ]


def instalments(amount: Decimal, count: int, places: int) -> list[Decimal]:
    """``amount`` billed over ``count`` invoices: equal parts rounded down to the currency's
    minor unit, the first carrying what rounding left, so the parts add up to ``amount``."""
    unit = Decimal(1).scaleb(-places)
    part = (amount / count).quantize(unit, rounding=ROUND_DOWN)
    return [amount - part * (count - 1)] + [part] * (count - 1)


def remaining(granted: Decimal, entries: Iterable[tuple[str, Decimal]]) -> Decimal:
    """What is left of a grant of ``granted`` after its ledger entries (kind, signed amount:
    consumption and breakage negative, reversal positive)."""
    return granted + sum((amount for _, amount in entries), ZERO)
