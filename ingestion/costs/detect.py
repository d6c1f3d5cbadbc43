"""Which format a cost file is, from its header; when none matches, the closest format's
missing columns next to the file's own headers.
"""

from __future__ import annotations

import difflib
import re

from ingestion.costs import aws, azure, focus, gcp
from ingestion.costs.columns import Columns, Format
from ingestion.costs.focus import focus_format
from ingestion.costs.values import CostFileError


# Every format, with the columns it knows (to name the closest one when none matches exactly).
def _candidates() -> list[tuple[Format, set[str]]]:
    return [*focus.candidates(), *aws.candidates(), *azure.candidates(), *gcp.candidates()]


def _by_name(name: str) -> Format:
    return next(f for f, _ in _candidates() if f.name == name)


def _signature(header: list[str]) -> Format | None:
    cols = Columns(header)
    names = set(header)
    if cols.has("BilledCost", "EffectiveCost", "ChargePeriodStart", "BillingPeriodStart"):
        if "InvoiceId" in names or "PricingCurrency" in names or "BillingAccountType" in names:
            return focus_format("1.2")
        if "ServiceSubcategory" in names or "SkuMeter" in names or "SkuPriceDetails" in names:
            return focus_format("1.1")
        return focus_format("1.0")
    if "lineItem/UnblendedCost" in names or "lineItem/LineItemType" in names:
        return _by_name("aws-cur")
    if "line_item_unblended_cost" in names or "line_item_line_item_type" in names:
        return _by_name("aws-cur2")
    if "costInBillingCurrency" in names:
        return _by_name("azure-mca")
    if cols.has("CostInBillingCurrency"):
        return _by_name("azure-ea")
    flat = {h.replace(".", "_").lower() for h in header}
    if {"billing_account_id", "cost", "usage_start_time"} <= flat and (
        "invoice_month" in flat or "service_description" in flat
    ):
        return _by_name("gcp")
    return None


def _shown(names: list[str], limit: int = 12) -> str:
    return ", ".join(names[:limit]) + (
        f", ... ({len(names)} columns)" if len(names) > limit else ""
    )


def detect(header: list[str]) -> Format:
    """The format of a file from its header; :class:`CostFileError` if none matches, naming
    the closest format's missing columns next to the file's own headers."""
    fmt = _signature(header)
    if fmt is None:
        folded = {h.lower() for h in header}
        exact = set(header)
        scored = [  # most columns in common (then in the same case: Azure EA vs MCA)
            (len({k.lower() for k in known} & folded), len(known & exact), -index, f)
            for index, (f, known) in enumerate(_candidates())
        ]
        score, _, _, closest = max(scored, key=lambda s: s[:3])
        if score < 3:
            raise CostFileError(
                "unknown cost file format: the header matches none of FOCUS 1.0-1.2, AWS CUR, "
                "AWS CUR 2.0, Azure EA/MCA or GCP billing export (the file's columns: "
                f"{_shown(header)})"
            )
        fmt = closest
    cols = Columns(header)
    missing = []
    for options in dict.fromkeys(fmt.columns.values()):
        if cols.name(*options) is None:
            missing.append(" or ".join(options))
    if missing:
        known = {k.lower() for f, ks in _candidates() if f.family == fmt.family for k in ks}
        unknown = [h for h in header if h.lower() not in known]
        squeezed = {re.sub(r"[^a-z0-9]", "", h.lower()): h for h in unknown}
        hints = []
        for options in missing:
            for option in options.split(" or "):
                wanted = re.sub(r"[^a-z0-9]", "", option.lower())
                close = difflib.get_close_matches(wanted, list(squeezed), n=1, cutoff=0.75)
                if close:
                    hints.append(f"is {squeezed[close[0]]!r} the {option} column?")
                    break
        raise CostFileError(
            f"line 1 (header): {fmt.label} needs the column"
            f"{'s' if len(missing) > 1 else ''} {', '.join(missing)}, which the file does not "
            f"have{(' (' + ' '.join(hints) + ')') if hints else ''}; the file's columns: "
            f"{_shown(header)}"
        )
    return fmt
