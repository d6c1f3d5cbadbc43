"""Quotas, milestones, budgets and alerts: the pure rules (``billing/rules/alerts.py``); the API
and the real-time consumer feeding them are in tests/integration/test_quotas.py."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from billing.rules import alerts as alerting

NOW = datetime(2026, 11, 16)  # half of November elapsed


# ----------------------------------------------------------------------------- pure rules
def test_quota_decision_hard_blocks_at_the_limit_soft_warns():
    d = Decimal
    assert alerting.quota_decision("hard", d(10), d(9), d(1)) == (True, False)
    assert alerting.quota_decision("hard", d(10), d(10), d(0)) == (True, False)
    assert alerting.quota_decision("hard", d(10), d(10), d(1)) == (False, True)
    assert alerting.quota_decision("soft", d(10), d(10), d(1)) == (True, True)
    assert alerting.remaining(d(10), d(12)) == 0


def test_thresholds_reached_and_levels():
    levels = alerting.threshold_levels(Decimal(200), [Decimal(100), Decimal(80), Decimal(80)])
    assert [(c.threshold, c.level) for c in levels] == [(80, 160), (100, 200)]
    assert [c.threshold for c in alerting.reached(Decimal("159.999"), levels)] == []
    assert [c.threshold for c in alerting.reached(Decimal(160), levels)] == [80]
    assert [c.threshold for c in alerting.reached(Decimal(500), levels)] == [80, 100]


def test_projection_is_linear_by_elapsed_time():
    start, end = date(2026, 11, 1), date(2026, 12, 1)
    # 15 of 30 days elapsed: doubled for sum and count, unchanged for the others.
    assert alerting.project_month_end(Decimal("7.5"), "sum", start, end, NOW) == Decimal("15")
    assert alerting.project_month_end(Decimal(7), "count", start, end, NOW) == 14
    assert alerting.project_month_end(Decimal(7), "max", start, end, NOW) == 7
    assert alerting.project_month_end(Decimal(7), "unique_count", start, end, NOW) == 7
    # After the period: the value itself; in the first hour: at least one hour elapsed.
    assert alerting.project_month_end(Decimal(7), "sum", start, end, datetime(2027, 1, 1)) == 7
    assert alerting.project_month_end(
        Decimal(1), "count", start, end, datetime(2026, 11, 1, 0, 1)
    ) == Decimal(720)


def test_signature_and_backoff():
    body = b'{"a":1}'
    header = alerting.sign(body, "s3cret", timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert alerting.verify(body, header, "s3cret", now=1_700_000_100)
    assert not alerting.verify(body + b" ", header, "s3cret", now=1_700_000_100)
    assert not alerting.verify(body, header, "other", now=1_700_000_100)
    assert not alerting.verify(body, header, "s3cret", now=1_700_001_000)  # too old
    assert [alerting.backoff(n, 1.0, 10.0) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 10]
