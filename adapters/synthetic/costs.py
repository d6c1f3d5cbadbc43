"""A synthetic daily cloud cost file (FOCUS 1.0 CSV) for the demo's dashboard: compute tagged
for two teams, untagged storage and an API gateway, every day of a window, with steady
deterministic noise and one injected spike (so the anomaly panel has something to show)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

HEADER = (
    "BillingAccountId,SubAccountId,ProviderName,ServiceName,BillingCurrency,BillingPeriodStart,"
    "BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,BilledCost,"
    "EffectiveCost,ListCost,ContractedCost,Tags"
)
# service, daily base cost, tags (a JSON object)
SERVICES = (
    ("Amazon EC2", Decimal("42.00"), '{"team": "payments"}'),
    ("Amazon RDS", Decimal("18.50"), '{"team": "search"}'),
    ("Amazon S3", Decimal("6.20"), "{}"),
    ("API Gateway", Decimal("11.00"), "{}"),
)


def _month_bounds(day: date) -> tuple[date, date]:
    start = day.replace(day=1)
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return start, end


def daily_focus_file(start: date, end: date, spike: date | None = None) -> str:
    """One line per service and day in [start, end); ``spike`` multiplies EC2 by 4 that day."""
    lines = [HEADER]
    day = start
    while day < end:
        period_start, period_end = _month_bounds(day)
        for i, (service, base, tags) in enumerate(SERVICES):
            wobble = Decimal((day.toordinal() * (i + 3)) % 7 - 3) / 10  # -0.3 .. +0.3
            cost = base + wobble + (Decimal(day.weekday() < 5) * base / 10)
            if spike is not None and day == spike and service == "Amazon EC2":
                cost *= 4
            cost = cost.quantize(Decimal("0.01"))
            quoted = '"' + tags.replace('"', '""') + '"'
            lines.append(
                f"demo-daily-payer,demo-daily,AWS,{service},USD,{period_start} 00:00:00,"
                f"{period_end} 00:00:00,{day} 00:00:00,{day + timedelta(days=1)} 00:00:00,Usage,"
                f"{cost},{cost},{cost},{cost},{quoted}"
            )
        day += timedelta(days=1)
    return "\n".join(lines) + "\n"
