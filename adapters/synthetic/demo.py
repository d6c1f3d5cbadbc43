"""Demo control plane: plans, subscriptions and coupons for the synthetic tenants, created
through the same domain functions the API uses (so they obey the same rules)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.control_plane.commands import CouponCreate, PlanCreate, SubscriptionCreate
from billing.control_plane.models import Coupon, Plan, Subscription
from billing.services.plans import create_plan
from billing.services.subscriptions import create_subscription

DEMO_PLANS = [
    {
        "code": "starter",
        "name": "Starter",
        "currency": "USD",
        "base_fee": {"amount": "29", "timing": "in_advance"},
        "charges": [
            {
                "meter": "api_calls",
                "price": {"model": "per_unit", "unit_amount": "0.002", "free_units": "1000"},
            },
            {
                "meter": "egress_gb",
                "price": {"model": "package", "unit_amount": "0.50", "package_size": "1"},
            },
            {"meter": "storage_gb", "price": {"model": "per_unit", "unit_amount": "0.023"}},
        ],
    },
    {
        "code": "pro",
        "name": "Pro",
        "currency": "USD",
        "base_fee": {"amount": "199", "timing": "in_advance"},
        "trial_days": 0,
        "charges": [
            {
                "meter": "api_calls",
                "price": {
                    "model": "graduated",
                    "tiers": [
                        {"up_to": "10000", "unit_amount": "0", "flat_amount": "0"},
                        {"up_to": "100000", "unit_amount": "0.0015"},
                        {"up_to": None, "unit_amount": "0.001"},
                    ],
                },
            },
            {
                "meter": "api_active_users",
                "price": {
                    "model": "volume",
                    "tiers": [
                        {"up_to": "50", "unit_amount": "2"},
                        {"up_to": None, "unit_amount": "1.5", "flat_amount": "10"},
                    ],
                },
            },
            {
                "meter": "compute_seconds",
                "price": {"model": "per_unit", "unit_amount": "0.0001"},
                "minimum_amount": "25",
            },
            {"meter": "storage_gb", "price": {"model": "per_unit", "unit_amount": "0.02"}},
        ],
    },
]
DEMO_COUPONS = [
    {
        "code": "WELCOME20",
        "name": "20% off for 3 months",
        "percent_off": "20",
        "duration": "repeating",
        "duration_in_months": 3,
    },
    {
        "code": "PARTNER50",
        "name": "50 USD off, forever",
        "amount_off": "50",
        "currency": "USD",
        "duration": "forever",
    },
]


def seed_demo_billing(session: Session, tenants: list[str], start: datetime, now: datetime) -> int:
    """Create the demo plans and coupons once, and subscribe every tenant not yet subscribed
    (large tenants on pro). Returns the number of subscriptions created."""
    for body in DEMO_PLANS:
        if session.scalars(select(Plan.id).where(Plan.code == body["code"])).first() is None:
            create_plan(session, PlanCreate.model_validate(body))
    for body in DEMO_COUPONS:
        if session.scalars(select(Coupon.id).where(Coupon.code == body["code"])).first() is None:
            session.add(Coupon(**CouponCreate.model_validate(body).model_dump(), times_redeemed=0))
    session.flush()
    subscribed = set(session.scalars(select(Subscription.tenant_id)).all())
    created = 0
    for i, tenant in enumerate(tenants):
        if tenant in subscribed:
            continue
        coupon = "WELCOME20" if i % 7 == 3 else ("PARTNER50" if i % 11 == 5 else None)
        create_subscription(
            session,
            SubscriptionCreate(
                tenant_id=tenant,
                plan_code="pro" if i < 8 else "starter",
                start_at=start,
                coupon_code=coupon,
            ),
            now,
        )
        created += 1
    return created


# ----------------------------------------------------------------------------- cloud costs
DEMO_COST_CENTERS = [
    {"code": "platform", "name": "Platform", "owner": "platform@example.com"},
    {
        "code": "payments",
        "name": "Payments",
        "parent_code": "platform",
        "owner": "payments@example.com",
        "monthly_budget": "2500",
        "budget_currency": "USD",
    },
    {"code": "search", "name": "Search", "parent_code": "platform"},
    {"code": "data", "name": "Data", "owner": "data@example.com"},
]
DEMO_RULES = [
    {
        "priority": 10,
        "match": {"tag_key": "team", "tag_value": "payments"},
        "cost_center": "payments",
    },
    {"priority": 20, "match": {"tag_key": "team", "tag_value": "search"}, "cost_center": "search"},
    {
        "priority": 30,
        "match": {"tag_key": "environment", "tag_value": "dev"},
        "cost_center": "data",
    },
    {
        "priority": 40,
        "match": {"provider": "Microsoft"},
        "split": {
            "method": "even",
            "targets": [{"cost_center": "payments"}, {"cost_center": "search"}],
        },
    },
    {
        "priority": 50,
        "match": {"service_name": "API Gateway"},
        "split": {"method": "usage", "usage_meter": "api_calls"},
    },
    {
        "priority": 60,
        "match": {"tag_key": "environment", "tag_value": "prod"},
        "split": {
            "method": "proportional",
            "targets": [{"cost_center": "payments"}, {"cost_center": "search"}],
        },
    },
]
FOCUS_DEMO_HEADER = (
    "BillingAccountId,SubAccountId,ProviderName,ServiceName,BillingCurrency,BillingPeriodStart,"
    "BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,BilledCost,"
    "EffectiveCost,ListCost,ContractedCost,Tags"
)


def demo_focus_file(period_start: datetime) -> str:
    """A small FOCUS file for one billing period: tagged compute, untagged storage (left
    unallocated) and an API gateway shared by the tenants' usage."""
    end = datetime(period_start.year + (period_start.month == 12), period_start.month % 12 + 1, 1)
    lines = [FOCUS_DEMO_HEADER]
    rows = [
        ("Amazon EC2", "1234.56", "1100.10", '{"team": "payments"}'),
        ("Amazon EC2", "845.10", "845.10", '{"team": "search"}'),
        ("Amazon S3", "120.03", "120.03", "{}"),
        ("API Gateway", "500.00", "500.00", "{}"),
    ]
    for service, billed, effective, tags in rows:
        quoted = '"' + tags.replace('"', '""') + '"'
        lines.append(
            f"demo-payer,demo-account,AWS,{service},USD,{period_start:%Y-%m-%d} 00:00:00,"
            f"{end:%Y-%m-%d} 00:00:00,{period_start:%Y-%m-%d} 00:00:00,"
            f"{period_start:%Y-%m-%d} 01:00:00,Usage,{billed},{effective},{billed},{effective},"
            f"{quoted}"
        )
    return "\n".join(lines) + "\n"


def seed_demo_costs(session: Session, tenants: list[str]) -> bool:
    """Create the demo cost centers, allocation rules and tenant cost centers once (through
    the services' validation). Returns whether anything was created."""
    from billing.control_plane.commands import AllocationRuleIn, CostCenterCreate
    from billing.control_plane.models import CostCenter, TenantCostCenter
    from billing.services.allocation_rules import create_rule
    from billing.services.cost_centers import create_center

    if session.scalars(select(CostCenter.code)).first() is not None:
        return False
    for body in DEMO_COST_CENTERS:
        create_center(session, CostCenterCreate.model_validate(body))
    for i, body in enumerate(DEMO_RULES):
        create_rule(
            session, AllocationRuleIn.model_validate({"name": f"demo rule {i + 1}", **body})
        )
    for i, tenant in enumerate(tenants):
        session.add(
            TenantCostCenter(tenant_id=tenant, cost_center_code=("payments", "search")[i % 2])
        )
    session.commit()
    return True
