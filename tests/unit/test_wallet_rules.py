"""The burn order of wallet grants and their expiry (billing.rules.wallets)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal as D

from billing.rules.wallets import Burn, GrantBalance, burn, expired, instalments, remaining

JAN = datetime(2026, 1, 1)
FEB = datetime(2026, 2, 1)
MAR = datetime(2026, 3, 1)


def grant(gid, wallet, priority, left, granted=JAN, expires=None):
    return GrantBalance(gid, wallet, priority, granted, expires, D(left))


def test_priority_then_soonest_expiry_then_oldest_grant():
    grants = [
        grant(1, 10, 2, "50"),  # lower priority wallet: last
        grant(2, 20, 1, "10", granted=datetime(2025, 12, 5)),  # never expires, older
        grant(3, 20, 1, "10", granted=datetime(2025, 12, 1)),  # never expires, oldest
        grant(4, 20, 1, "5", expires=datetime(2026, 6, 1)),  # expires later
        grant(5, 20, 1, "5", expires=datetime(2026, 4, 1)),  # expires soonest
    ]
    assert burn(D("42.5"), grants, FEB) == [
        Burn(5, 20, D("5")),
        Burn(4, 20, D("5")),
        Burn(3, 20, D("10")),
        Burn(2, 20, D("10")),
        Burn(1, 10, D("12.5")),
    ]


def test_each_grant_at_most_down_to_zero_and_nothing_beyond_the_amount_due():
    grants = [grant(1, 1, 1, "3"), grant(2, 1, 1, "0"), grant(3, 1, 2, "100")]
    assert burn(D("5"), grants, FEB) == [Burn(1, 1, D("3")), Burn(3, 1, D("2"))]
    assert burn(D("2"), [grant(1, 1, 1, "3")], FEB) == [Burn(1, 1, D("2"))]
    assert burn(D("0"), grants, FEB) == []


def test_only_grants_made_before_and_not_expired_before_the_period_end_pay():
    grants = [
        grant(1, 1, 1, "10", granted=datetime(2026, 2, 3)),  # granted after the period
        grant(2, 1, 1, "10", expires=datetime(2026, 1, 20)),  # expired within it
        grant(3, 1, 1, "10", expires=FEB),  # expires exactly at its end: pays (soonest first)
        grant(4, 1, 1, "10", expires=datetime(2026, 2, 15)),  # still valid
    ]
    assert burn(D("25"), grants, FEB) == [Burn(3, 1, D("10")), Burn(4, 1, D("10"))]
    assert burn(D("25"), grants, datetime(2026, 2, 1, 0, 0, 1)) == [Burn(4, 1, D("10"))]


def test_instalments_add_up_the_first_carrying_the_rounding():
    assert instalments(D("100"), 3, 2) == [D("33.34"), D("33.33"), D("33.33")]
    assert instalments(D("100"), 1, 2) == [D("100")]
    assert instalments(D("1000"), 7, 0) == [D("148")] + [D("142")] * 6
    for amount, count in ((D("0.05"), 4), (D("120000"), 12), (D("99.99"), 11)):
        parts = instalments(amount, count, 2)
        assert sum(parts) == amount and len(parts) == count and min(parts) > 0


def test_breakage_is_the_remainder_of_grants_expired_by_now():
    grants = [
        grant(1, 1, 1, "7.25", expires=datetime(2026, 2, 15)),
        grant(2, 1, 1, "0", expires=datetime(2026, 2, 10)),  # used up: nothing breaks
        grant(3, 1, 1, "5", expires=datetime(2026, 4, 1)),  # not yet
        grant(4, 1, 1, "5"),  # never
    ]
    assert expired(grants, MAR) == [Burn(1, 1, D("7.25"))]


def test_remaining_is_the_grant_plus_its_signed_entries():
    entries = [("consumption", D("-30")), ("reversal", D("30")), ("consumption", D("-12.5"))]
    assert remaining(D("50"), entries) == D("37.5")
    assert remaining(D("50"), entries + [("breakage", D("-37.5"))]) == D("0")
