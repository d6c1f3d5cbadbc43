"""Command schemas: what the services take (``*Create``, ``*Update``, ``*In``), the shared
input types (``RowId``, ``Amount``, ``Percent``, ...) and ``plain_decimal``."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from annotated_types import Ge, Le
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from billing.timeutil import IsoDate, UtcDateTime


def plain_decimal(value: Decimal | None) -> str | None:
    """A decimal as plain text without trailing zeros: 40, 6.5, 0.0015 (same on every
    backend, whatever scale the database keeps)."""
    if value is None:
        return None
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


Plain = Annotated[Decimal, PlainSerializer(plain_decimal, return_type=str)]


# Integers the databases store: ids and counts are `integer` columns (32-bit on PostgreSQL),
# offsets 64-bit. A larger number is a 422 naming the field, not an overflow in the driver.
MAX_DB_INTEGER = 2**63 - 1


MAX_ROW_ID = 2**31 - 1


RowId = Annotated[int, Ge(1), Le(MAX_ROW_ID)]


# Money columns are numeric(38, 12): amounts below 10^26 (a larger one is a 422 naming it).
MONEY_LIMIT = Decimal(10) ** 26


# ----------------------------------------------------------------------------- meters
class MeterCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(examples=["api_calls"], description="Lowercase key, unique and permanent.")
    name: str = Field("", max_length=200)
    event_type: str = Field(examples=["api.request"], description="CloudEvents `type` counted.")
    aggregation: Literal["sum", "count", "max", "unique_count", "latest"]
    value_property: str | None = Field(
        None, description="Top-level key of the event data (not used by `count`)."
    )
    unit: str = Field("unit", max_length=32)
    group_by: list[str] = Field(default_factory=list, max_length=8)


class MeterUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    unit: str | None = Field(None, min_length=1, max_length=32)


# ----------------------------------------------------------------------------- API keys
class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")
    name: str = Field("", max_length=200)


# ----------------------------------------------------------------------------- pricing
Amount = Annotated[
    Decimal,
    Field(lt=MONEY_LIMIT, description="Exact decimal; send as a JSON string to be safe"),
]


class TierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    up_to: Decimal | None = Field(description="Last unit of the tier; null for the last tier.")
    unit_amount: Decimal = Decimal(0)
    flat_amount: Decimal = Decimal(0)


class PriceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        examples=["graduated"], description="per_unit, graduated, volume, package or flat"
    )
    unit_amount: Decimal | None = None
    tiers: list[TierIn] = Field(default_factory=list)
    package_size: Decimal | None = None
    flat_amount: Decimal | None = None
    free_units: Decimal = Decimal(0)


class CalculateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str = Field(examples=["USD"])
    quantity: Decimal = Field(examples=["6"])
    price: PriceIn


class QuoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan_code: str
    usage: dict[str, Decimal] = Field(default_factory=dict, description="meter key -> quantity")
    coupon_code: str | None = None


# ----------------------------------------------------------------------------- plans
class BaseFeeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Decimal = Decimal(0)
    timing: Literal["in_advance", "in_arrears"] = "in_advance"
    proration: Literal["day", "second"] = Field(
        "day",
        description="How a part of a period is measured when the fee is prorated (a start, "
        "change or cancellation inside a period): whole days, the change day counting as "
        "remaining, or exact seconds.",
    )


class ChargeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    meter: str
    price: PriceIn
    minimum_amount: Decimal | None = Field(
        None, description="Minimum commitment per period; a shortfall is billed as a true-up."
    )


class PlanDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    currency: str = Field(examples=["USD"])
    interval: Literal["month"] = Field("month", description="Calendar months, UTC.")
    base_fee: BaseFeeIn = Field(default_factory=BaseFeeIn)
    trial_days: int = Field(0, ge=0, le=365)
    charges: list[ChargeIn] = Field(default_factory=list, max_length=100)


class PlanCreate(PlanDefinition):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", examples=["pro"])


# ----------------------------------------------------------------------------- subscriptions
class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")
    plan_code: str
    start_at: UtcDateTime | None = Field(None, description="Default: now. UTC if no offset given.")
    trial_days: int | None = Field(None, ge=0, le=365, description="Default: the plan's.")
    coupon_code: str | None = None


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at_period_end: bool = True
    at: UtcDateTime | None = Field(None, description="When to cancel immediately (default now).")


class PlanChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan_code: str
    timing: Literal["immediate", "period_end"] | None = Field(
        None, description="Default: upgrades immediately (prorated), downgrades at period end."
    )
    at: UtcDateTime | None = Field(None, description="When an immediate change takes effect.")


class PlanMigrateIn(BaseModel):
    """Move subscriptions onto a newer version of their plan (``POST /plans/{code}/versions/
    {version}/migrate``): when, as for a plan change."""

    model_config = ConfigDict(extra="forbid")

    timing: Literal["immediate", "period_end"] | None = Field(
        None,
        description="Default: immediately (prorated) when the new version's base fee is not "
        "lower, else at the period end.",
    )
    at: UtcDateTime | None = Field(None, description="When an immediate migration takes effect.")


class MigrateIn(PlanMigrateIn):
    """Move one subscription onto a newer version of its plan
    (``POST /subscriptions/{id}/migrate``)."""

    version: RowId | None = Field(None, description="Default: the plan's latest version.")


class ChargeOverrideIn(BaseModel):
    """One plan charge priced differently for this subscription. Set only the fields the plan
    charge's price model uses; the others keep the plan's value. ``tiers`` replace all of the
    plan charge's tiers."""

    model_config = ConfigDict(extra="forbid")

    meter: str = Field(description="The meter of a usage charge of the subscription's plan.")
    unit_amount: Decimal | None = None
    package_size: Decimal | None = None
    flat_amount: Decimal | None = None
    tiers: list[TierIn] | None = None
    free_units: Decimal | None = None
    minimum_amount: Decimal | None = None


class OverridesIn(BaseModel):
    """The whole set of a subscription's overrides from ``effective_from`` on (it replaces the
    previous set; an empty body removes every override)."""

    model_config = ConfigDict(extra="forbid")

    effective_from: UtcDateTime | None = Field(
        None,
        description="The start of a billing period, not before the current one (default: the "
        "start of the current period).",
    )
    base_fee_amount: Decimal | None = Field(None, description="Null: the plan's base fee.")
    charges: list[ChargeOverrideIn] = Field(default_factory=list, max_length=100)


# ----------------------------------------------------------------------------- contracts
class RampIn(BaseModel):
    """A price phase of a contract: the subscription's overrides from ``starts_on`` until the
    next ramp (or the end of the term)."""

    model_config = ConfigDict(extra="forbid")

    starts_on: IsoDate = Field(description="A billing period start inside the term.")
    base_fee_amount: Decimal | None = Field(None, description="Null: the plan's base fee.")
    charges: list[ChargeOverrideIn] = Field(default_factory=list, max_length=100)


class ContractCreate(BaseModel):
    """A tenant's term ``[starts_on, ends_on)`` (billing period starts) with an optional
    prepaid or postpaid commit and price ramps."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")
    subscription_id: str | None = Field(
        None, description="Default: the tenant's one subscription in force at `starts_on`."
    )
    starts_on: IsoDate = Field(examples=["2026-09-01"], description="A billing period start.")
    ends_on: IsoDate = Field(
        examples=["2027-09-01"], description="A billing period start after `starts_on` (excluded)."
    )
    currency: str = Field(examples=["USD"], description="The plan's currency.")
    postpaid_commit_amount: Decimal | None = Field(
        None,
        description="Minimum spend over the term; a shortfall is billed as a true-up on the "
        "invoice of the term's last period.",
    )
    prepaid_commit_amount: Decimal | None = Field(
        None,
        description="Invoiced up front (or in instalments) and granted to a wallet of the "
        "tenant at the start of the term; the term's invoices draw it down before anything is "
        "charged. Not with a postpaid commit.",
    )
    prepaid_commit_instalments: int = Field(
        1,
        ge=1,
        le=120,
        description="Invoices the prepaid commit is billed over: the term's first periods, "
        "one each.",
    )
    prepaid_commit_rollover: bool = Field(
        False,
        description="What is left of the prepaid commit at the end of the term: rolls over "
        "(stays in the wallet, never expires) or, by default, expires.",
    )
    ramps: list[RampIn] = Field(default_factory=list, max_length=120)


class CouponApply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str


# ----------------------------------------------------------------------------- coupons
class CouponCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
    name: str = Field("", max_length=200)
    percent_off: Decimal | None = Field(None, gt=0, le=100, decimal_places=4)
    amount_off: Decimal | None = Field(None, gt=0, lt=MONEY_LIMIT)
    currency: str | None = None
    duration: Literal["once", "repeating", "forever"]
    duration_in_months: int | None = Field(None, ge=1, le=120)
    max_redemptions: int | None = Field(None, ge=1, le=MAX_ROW_ID)
    redeem_by: UtcDateTime | None = None
    plan_codes: list[str] = Field(default_factory=list, description="Empty: every plan.")


# ----------------------------------------------------------------------------- tenants, tax
class TaxRateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$", examples=["VAT20"])
    name: str = Field(min_length=1, max_length=200)
    percentage: Decimal = Field(ge=0, le=100, decimal_places=6, examples=["20"])


class TenantUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field("", max_length=200)
    email: str | None = Field(None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    tax_rates: list[str] = Field(default_factory=list, description="Tax rate codes.")


class CreditGrantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Decimal = Field(gt=0, lt=MONEY_LIMIT)
    currency: str
    reason: str = Field("", max_length=300)


class WalletCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str = Field(examples=["USD"])
    name: str = Field("", max_length=200)
    priority: int = Field(
        100, ge=1, le=1_000_000, description="Burn order between wallets: 1 burns first."
    )


class WalletGrantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["paid", "promotional", "recurring", "contract"]
    amount: Decimal = Field(gt=0, lt=MONEY_LIMIT, description="In the wallet's currency.")
    expires_at: UtcDateTime | None = Field(None, description="After it, the remainder expires.")
    source_ref: str | None = Field(
        None, max_length=200, description="What the grant comes from, e.g. a contract id."
    )
    reason: str = Field("", max_length=300)


class VoidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=300)


# ----------------------------------------------------------------------------- cloud costs
COST_CENTER_CODE = r"^[a-z0-9][a-z0-9._-]{0,62}$"


class CostCenterCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=COST_CENTER_CODE, examples=["payments"])
    name: str = Field(min_length=1, max_length=200)
    parent_code: str | None = Field(None, description="Parent cost center (hierarchy).")
    owner: str | None = Field(None, max_length=200)
    monthly_budget: Amount | None = None
    budget_currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")


class CostCenterUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    parent_code: str | None = None
    owner: str | None = Field(None, max_length=200)
    monthly_budget: Amount | None = None
    budget_currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")


class TenantCostCenterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cost_center: str


class RuleMatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tag_key: str | None = Field(None, min_length=1, max_length=200)
    tag_value: str | None = Field(
        None, max_length=500, description="Null: any line carrying the tag key."
    )
    provider: str | None = Field(None, min_length=1, max_length=200)
    billing_account_id: str | None = Field(None, min_length=1, max_length=500)
    sub_account_id: str | None = Field(None, min_length=1, max_length=500)
    service_name: str | None = Field(None, min_length=1, max_length=500)


class SplitTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cost_center: str
    percentage: Decimal | None = Field(None, description="For `fixed` only; all add up to 100.")


class RuleSplit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: Literal["even", "proportional", "fixed", "usage"]
    targets: list[SplitTarget] = Field(default_factory=list, max_length=500)
    usage_meter: str | None = Field(
        None, description="For `usage`: the meter whose per-tenant quantity weighs the split."
    )


class AllocationRuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    priority: int = Field(ge=0, le=1_000_000, description="Lower numbers are tried first.")
    match: RuleMatch
    cost_center: str | None = Field(None, description="Direct rule: the center that gets it.")
    split: RuleSplit | None = Field(None, description="Shared pool: how it is split.")


# ----------------------------------------------------------------------------- quotas and alerts
Percent = Annotated[Decimal, Field(gt=0, le=1000)]


class QuotaCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(min_length=1, max_length=128)
    meter: str = Field(description="Meter key.")
    limit: Decimal = Field(ge=0, description="Most usage per period.")
    period: Literal["month"] = "month"
    enforcement: Literal["hard", "soft"] = Field(
        "hard", description="`hard` blocks at the limit, `soft` warns."
    )
    alert_thresholds: list[Percent] = Field(
        default_factory=lambda: [Decimal(80), Decimal(100)],
        max_length=10,
        description="Percentages of the limit at which an alert fires.",
    )


class QuotaUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: Decimal | None = Field(None, ge=0)
    enforcement: Literal["hard", "soft"] | None = None
    alert_thresholds: list[Percent] | None = Field(None, max_length=10)


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str = Field(min_length=3, max_length=3)
    amount: Decimal = Field(gt=0, lt=MONEY_LIMIT, description="Monthly budget.")
    alert_thresholds: list[Percent] = Field(
        default_factory=lambda: [Decimal(80), Decimal(100)], max_length=10
    )


class MilestoneCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    meter: str = Field(max_length=63)
    tenant_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$", description="Empty: every tenant."
    )
    levels: list[Annotated[Decimal, Field(gt=0)]] = Field(min_length=1, max_length=20)
