"""Request and response schemas, named by role (``MeterCreate``, ``MeterPublic``, ...)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Generic, Literal, TypeVar

from annotated_types import Ge, Le
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from billing.timeutil import UtcDateTime

T = TypeVar("T")


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


class ErrorItem(BaseModel):
    code: str = Field(description="Stable snake_case code, e.g. `decimal_parsing`, `missing`.")
    message: str
    field: str | None = Field(description="Dotted path of the input, e.g. `query.tenant_id`.")


class Error(BaseModel):
    """The body of every answer >= 400 (400, 401, 403, 404, 409, 422, 503, ...)."""

    code: str = Field(
        description="Stable snake_case code: `bad_request`, `unauthorized`, `forbidden`, "
        "`not_found`, `conflict`, `validation_error`, `invalid`, `unavailable`, ..."
    )
    message: str = Field(description="What is wrong, for a person.")
    field: str | None = Field(
        description="Dotted path of the offending input (`amount`, `query.tenant_id`), if any."
    )
    detail: str = Field(description="`<field>: <message>` (or the message): the earlier text.")
    errors: list[ErrorItem] = Field(description="One entry per invalid input (422).")


ERROR_RESPONSES: dict[int | str, dict] = {
    status: {"model": Error, "description": description}
    for status, description in {
        400: "Bad request: the body or a parameter cannot be read.",
        401: "No key, or an invalid or revoked key.",
        403: "The key may not do this.",
        404: "Not found.",
        409: "Conflict with the current state.",
        422: "A field's value is not acceptable (`field` names it).",
        503: "The warehouse or control-plane database is not available yet.",
    }.items()
}

# The same for operations whose success is not JSON (an HTML page): errors still are.
JSON_ERROR_RESPONSES: dict[int | str, dict] = {
    status: {
        "description": response["description"],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for status, response in ERROR_RESPONSES.items()
}


class Page(BaseModel, Generic[T]):
    data: list[T]
    count: int = Field(description="Rows matching the filters, across all pages.")
    limit: int
    offset: int


class Message(BaseModel):
    detail: str


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


class MeterPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str
    name: str
    event_type: str
    aggregation: str
    value_property: str | None
    unit: str
    group_by: list[str]
    created_at: UtcDateTime
    archived_at: UtcDateTime | None


class MetersPublic(BaseModel):
    data: list[MeterPublic]
    count: int


# ----------------------------------------------------------------------------- API keys
class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")
    name: str = Field("", max_length=200)


class ApiKeyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    tenant_id: str
    name: str
    created_at: UtcDateTime
    revoked_at: UtcDateTime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The secret key. Shown once; only a hash is stored.")


class ApiKeysPublic(BaseModel):
    data: list[ApiKeyPublic]
    count: int


# ----------------------------------------------------------------------------- usage
class UsagePublic(BaseModel):
    tenant_id: str
    meter: str
    granularity: Literal["day", "period"]
    start: date = Field(description="First day covered.")
    end: date = Field(description="First day after the range covered (exclusive).")
    group_key: str | None = Field(None, description="Group-by breakdown key, when requested.")
    aggregation: str
    quantity: Decimal
    unit: str | None = None
    event_count: int
    late_event_count: int | None = None


class UsagesPublic(Page[UsagePublic]):
    as_of: UtcDateTime | None = Field(description="When the data served was published.")


class MeterVerdict(BaseModel):
    """Whether an accepted event counts for one meter of its type, and if not, why."""

    counted: bool
    code: str | None = Field(
        default=None, description="missing_property, bad_quantity or bad_value when not counted."
    )
    reason: str | None = None


class IngestResult(BaseModel):
    index: int
    id: str | None
    status: Literal["accepted", "rejected"]
    code: str | None = None
    reason: str | None = Field(
        default=None,
        description="Why it was rejected; for an accepted event not counted for every meter of "
        "its type, which meters it counts for and why not the others.",
    )
    meters: dict[str, MeterVerdict] | None = Field(
        default=None, description="Accepted events: per meter key of the event's type."
    )


class IngestResponse(BaseModel):
    accepted: int
    rejected: int
    not_counted: int = Field(
        default=0, description="(event, meter) pairs accepted but not counted for that meter."
    )
    results: list[IngestResult]


class DeadLetterPublic(BaseModel):
    kafka_topic: str
    kafka_partition: int
    kafka_offset: int
    kafka_key: str | None
    payload: str
    payload_encoding: str
    reason_code: str
    reason: str
    dead_lettered_at: UtcDateTime


class DeadLettersPublic(Page[DeadLetterPublic]):
    as_of: UtcDateTime | None


class NotCountedPublic(BaseModel):
    source: str
    event_id: str
    tenant_id: str
    event_type: str
    meter: str = Field(description="The meter the event is not counted for.")
    event_at: UtcDateTime
    reason_code: str
    reason: str
    recorded_at: UtcDateTime


class NotCountedsPublic(Page[NotCountedPublic]):
    as_of: UtcDateTime | None


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


class PriceLinePublic(BaseModel):
    description: str
    quantity: Decimal
    unit_amount: Decimal | None
    flat_amount: Decimal
    amount: Decimal = Field(description="Unrounded; the total is rounded once, at the end.")
    tier: int | None


class CalculatePublic(BaseModel):
    amount: str = Field(description="Rounded half-up to the currency's minor unit.")
    currency: str
    lines: list[PriceLinePublic]


class QuoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan_code: str
    usage: dict[str, Decimal] = Field(default_factory=dict, description="meter key -> quantity")
    coupon_code: str | None = None


class QuoteLinePublic(BaseModel):
    kind: Literal["base_fee", "usage", "minimum_commitment", "discount"]
    description: str
    meter: str | None = None
    quantity: Decimal | None = None
    amount: str
    detail: list[PriceLinePublic] = Field(default_factory=list)


class QuotePublic(BaseModel):
    plan_code: str
    plan_version: int
    currency: str
    lines: list[QuoteLinePublic]
    subtotal: str
    discount: str
    total: str


# ----------------------------------------------------------------------------- plans
class BaseFeeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Decimal = Decimal(0)
    timing: Literal["in_advance", "in_arrears"] = "in_advance"


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


class BaseFeePublic(BaseModel):
    amount: Plain
    timing: Literal["in_advance", "in_arrears"]


class ChargePublic(BaseModel):
    meter: str
    price: dict
    minimum_amount: Plain | None


class PlanPublic(BaseModel):
    id: int
    code: str
    version: int
    name: str
    description: str
    currency: str
    interval: str
    base_fee: BaseFeePublic
    trial_days: int
    charges: list[ChargePublic]
    created_at: UtcDateTime
    superseded_at: UtcDateTime | None
    archived_at: UtcDateTime | None
    is_current: bool


class PlansPublic(BaseModel):
    data: list[PlanPublic]
    count: int


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


class CouponApply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str


class PhasePublic(BaseModel):
    plan_code: str
    plan_version: int
    starts_at: UtcDateTime
    ends_at: UtcDateTime | None
    reason: str


class SubscriptionEventPublic(BaseModel):
    kind: str
    occurred_at: UtcDateTime
    effective_at: UtcDateTime
    details: dict


class ProrationLinePublic(BaseModel):
    period_start: date
    kind: Literal["proration_credit", "proration_charge"]
    description: str
    amount: str
    currency: str


class RedemptionPublic(BaseModel):
    coupon_code: str
    redeemed_at: UtcDateTime
    first_period_start: date
    periods: int | None


class SubscriptionPublic(BaseModel):
    id: str
    tenant_id: str
    status: Literal["scheduled", "trialing", "active", "canceled"]
    plan_code: str
    plan_version: int
    currency: str
    started_at: UtcDateTime
    trial_ends_at: UtcDateTime | None
    cancel_at: UtcDateTime | None
    canceled_at: UtcDateTime | None
    current_period_start: date | None
    current_period_end: date | None
    pending_plan_code: str | None = Field(None, description="Plan that takes over at a later date.")
    pending_change_at: UtcDateTime | None = None
    phases: list[PhasePublic]
    coupons: list[RedemptionPublic]
    events: list[SubscriptionEventPublic]
    proration: list[ProrationLinePublic] = Field(
        default_factory=list,
        description="Proration lines caused by this request (plan changes, cancellations).",
    )


class SubscriptionsPublic(BaseModel):
    data: list[SubscriptionPublic]
    count: int


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


class CouponPublic(BaseModel):
    code: str
    name: str
    percent_off: Plain | None
    amount_off: Plain | None
    currency: str | None
    duration: str
    duration_in_months: int | None
    max_redemptions: int | None
    times_redeemed: int
    redeem_by: UtcDateTime | None
    plan_codes: list[str]
    created_at: UtcDateTime
    archived_at: UtcDateTime | None


class CouponsPublic(BaseModel):
    data: list[CouponPublic]
    count: int


# ----------------------------------------------------------------------------- tenants, tax
class TaxRateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$", examples=["VAT20"])
    name: str = Field(min_length=1, max_length=200)
    percentage: Decimal = Field(ge=0, le=100, decimal_places=6, examples=["20"])


class TaxRatePublic(BaseModel):
    code: str
    name: str
    percentage: Plain
    created_at: UtcDateTime
    archived_at: UtcDateTime | None


class TaxRatesPublic(BaseModel):
    data: list[TaxRatePublic]
    count: int


class TenantUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field("", max_length=200)
    email: str | None = Field(None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    tax_rates: list[str] = Field(default_factory=list, description="Tax rate codes.")


class TenantPublic(BaseModel):
    tenant_id: str
    name: str
    email: str | None
    tax_rates: list[str]
    created_at: UtcDateTime
    updated_at: UtcDateTime


class TenantsPublic(BaseModel):
    data: list[TenantPublic]
    count: int


class CreditGrantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Decimal = Field(gt=0, lt=MONEY_LIMIT)
    currency: str
    reason: str = Field("", max_length=300)


class CreditGrantPublic(BaseModel):
    id: int
    tenant_id: str
    amount: Plain
    currency: str
    reason: str
    granted_at: UtcDateTime


class CreditGrantsPublic(BaseModel):
    data: list[CreditGrantPublic]
    count: int


# ----------------------------------------------------------------------------- invoices
class InvoiceLinePublic(BaseModel):
    line_number: int
    kind: str
    description: str
    service_period_start: date
    meter: str | None
    quantity: Plain | None
    amount: str


class PaymentAttemptPublic(BaseModel):
    attempt: int
    status: str
    payment_intent_id: str | None
    amount_minor: int
    failure_code: str | None
    failure_message: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class InvoicePublic(BaseModel):
    id: str
    number: str | None
    status: str
    subscription_id: str
    tenant_id: str
    period_start: date
    period_end: date
    issue_number: int
    currency: str
    subtotal: str
    discount: str
    tax_rate_percentage: Plain
    tax: str
    credits: str
    total: str
    finalized_at: UtcDateTime | None
    voided_at: UtcDateTime | None
    void_reason: str | None
    payment_status: str | None = Field(
        None,
        description="Stripe collection: pending, requires_payment_method, processing, paid, "
        "payment_failed, uncollectible; null for drafts and invoices not collected.",
    )
    attempts: list[PaymentAttemptPublic] = Field(default_factory=list)
    lines: list[InvoiceLinePublic] | None = None


class InvoicesPublic(Page[InvoicePublic]):
    as_of: UtcDateTime | None


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


class CostCenterPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    parent_code: str | None
    owner: str | None
    monthly_budget: Plain | None
    budget_currency: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class CostCentersPublic(BaseModel):
    data: list[CostCenterPublic]
    count: int


class TenantCostCenterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cost_center: str


class TenantCostCenterPublic(BaseModel):
    tenant_id: str
    cost_center: str


class TenantCostCentersPublic(BaseModel):
    data: list[TenantCostCenterPublic]
    count: int


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


class SplitTargetPublic(BaseModel):
    cost_center: str
    percentage: Plain | None


class RuleSplitPublic(BaseModel):
    method: str
    targets: list[SplitTargetPublic]
    usage_meter: str | None


class AllocationRulePublic(BaseModel):
    id: int
    name: str
    priority: int
    kind: Literal["direct", "shared"]
    match: RuleMatch
    cost_center: str | None
    split: RuleSplitPublic | None


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


class QuotaPublic(BaseModel):
    id: int
    tenant_id: str
    meter: str
    period: str
    limit: Plain
    enforcement: str
    alert_thresholds: list[Plain]
    created_at: UtcDateTime
    updated_at: UtcDateTime


class AllocationRulesPublic(BaseModel):
    data: list[AllocationRulePublic]
    count: int


class CostFilePublic(BaseModel):
    file_id: str
    file_name: str
    status: Literal["pending", "landed", "superseded", "failed"]
    format: str | None = None
    provider: str | None = None
    row_count: int | None = None
    error: str | None = None
    billing_period_start: UtcDateTime | None = None
    billing_period_end: UtcDateTime | None = None
    currencies: str | None = None
    billed_cost: Plain | None = None
    effective_cost: Plain | None = None
    landed_at: UtcDateTime | None = None
    superseded_by: str | None = None
    duplicate_of: str | None = None  # an upload of content uploaded before: that file's name


class CostFilesPublic(BaseModel):
    data: list[CostFilePublic]
    count: int
    snapshot: str | None = None


class CostCenterCostPublic(BaseModel):
    cost_center: str
    name: str
    parent_code: str | None
    period_start: date
    currency: str
    direct: str
    shared: str
    total: str
    rolled_up_direct: str
    rolled_up_shared: str
    rolled_up_total: str
    monthly_budget: Plain | None
    budget_currency: str | None


class CostCenterCostsPublic(BaseModel):
    data: list[CostCenterCostPublic]
    count: int
    snapshot: str | None = None


class CostCoveragePublic(BaseModel):
    period_start: date
    currency: str
    line_count: int
    source_effective_cost: str
    source_billed_cost: str
    allocated: str
    unallocated: str
    allocated_to_centers: str
    coverage_ratio: Plain | None


class CostCoveragesPublic(BaseModel):
    data: list[CostCoveragePublic]
    count: int
    snapshot: str | None = None


class QuotasPublic(BaseModel):
    data: list[QuotaPublic]
    count: int


class QuotaCheck(BaseModel):
    tenant_id: str
    meter: str
    period_start: date
    allowed: bool
    warning: bool = Field(description="A soft quota is (or would be) exceeded.")
    used: Plain
    quantity: Plain
    remaining: Plain | None
    limit: Plain | None
    enforcement: str | None


class QuotaStatus(BaseModel):
    id: int
    meter: str
    limit: Plain
    enforcement: str
    used: Plain
    remaining: Plain
    percent_used: Plain
    thresholds_reached: list[Plain]


class QuotaStatusPublic(BaseModel):
    tenant_id: str
    period_start: date
    data: list[QuotaStatus]


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str = Field(min_length=3, max_length=3)
    amount: Decimal = Field(gt=0, lt=MONEY_LIMIT, description="Monthly budget.")
    alert_thresholds: list[Percent] = Field(
        default_factory=lambda: [Decimal(80), Decimal(100)], max_length=10
    )


class BudgetPublic(BaseModel):
    tenant_id: str
    currency: str
    amount: Plain
    alert_thresholds: list[Plain]
    created_at: UtcDateTime
    updated_at: UtcDateTime


class BudgetsPublic(BaseModel):
    data: list[BudgetPublic]
    count: int


class MilestoneCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    meter: str = Field(max_length=63)
    tenant_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$", description="Empty: every tenant."
    )
    levels: list[Annotated[Decimal, Field(gt=0)]] = Field(min_length=1, max_length=20)


class MilestonePublic(BaseModel):
    id: int
    meter: str
    tenant_id: str | None
    levels: list[Plain]
    created_at: UtcDateTime


class MilestonesPublic(BaseModel):
    data: list[MilestonePublic]
    count: int


class DeliveryPublic(BaseModel):
    status: str
    attempts: int
    published_at: UtcDateTime | None
    delivered_at: UtcDateTime | None
    next_attempt_at: UtcDateTime | None
    last_status_code: int | None
    last_error: str | None


class AlertPublic(BaseModel):
    id: int
    kind: str
    scope: str
    tenant_id: str
    meter: str | None
    period_start: date
    threshold: str
    value: Plain
    limit: Plain | None
    source: str
    fired_at: UtcDateTime
    details: dict
    delivery: DeliveryPublic | None


class AlertsPublic(Page[AlertPublic]):
    pass


class CostLinePublic(BaseModel):
    kind: str
    subscription_id: str
    plan_code: str
    plan_version: int
    meter: str | None
    quantity: Plain | None
    projected_quantity: Plain | None
    amount: Plain
    projected_amount: Plain


class RealtimeCostMetric(BaseModel):
    """A tenant's cost for a period as it happens, from the real-time consumer's totals."""

    tenant_id: str
    period_start: date
    period_end: date
    as_of: UtcDateTime
    currency: str | None
    month_to_date: Plain
    projected_month_end: Plain
    projection_method: str = Field(
        "linear by elapsed time for sum and count meters; current value for max, latest and "
        "unique_count; minimum commitments trued up at month end"
    )
    usage: dict[str, Plain]
    lines: list[CostLinePublic]


class DriftPublic(BaseModel):
    tenant_id: str
    meter: str
    period_start: date
    realtime_quantity: Plain | None
    warehouse_quantity: Plain | None
    difference: Plain


class ReconciliationPublic(BaseModel):
    run_id: int | None
    run_at: UtcDateTime | None
    snapshot: str | None
    compared: int
    drifted: int
    drifts: list[DriftPublic]
