"""Response schemas (``*Public``): subscription analytics."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import Page
from billing.timeutil import UtcDateTime


class MrrPublic(BaseModel):
    """A tenant's MRR in one currency at the end of one month (definitions: docs/analytics.md).
    Amounts are rounded half-up to the currency's minor unit here, and only here."""

    tenant_id: str
    currency: str
    month: date = Field(description="The month's first day (UTC); MRR is measured at its end.")
    cohort_month: date = Field(description="The tenant's first month with MRR in the currency.")
    subscriptions: int = Field(description="Subscriptions paying at the month's end.")
    mrr: str = Field(description="Monthly recurring revenue: fixed + usage.")
    fixed_mrr: str = Field(description="Base fees normalised to one month.")
    usage_mrr: str = Field(description="Usage billed for the previous month.")
    arr: str = Field(description="Annual recurring revenue.")
    previous_mrr: str = Field(description="MRR at the end of the previous month.")
    mrr_change: str = Field(description="mrr - previous_mrr.")
    movement: Literal["new", "expansion", "contraction", "churn", "reactivation"] | None = Field(
        description="How the MRR moved this month; null when it did not."
    )


class MrrsPublic(Page[MrrPublic]):
    as_of: UtcDateTime | None = Field(description="When the data served was published.")
