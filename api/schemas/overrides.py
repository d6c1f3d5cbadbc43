"""Response schemas (``*Public``): a subscription's price overrides."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.plans import price_public, tiers_public
from billing.control_plane.commands import Plain, plain_decimal
from billing.control_plane.models import SubscriptionOverrideVersion
from billing.services.overrides import effective_charges
from billing.timeutil import UtcDateTime


class ChargeOverridePublic(BaseModel):
    meter: str
    overridden: dict = Field(description="The fields this override sets (decimal strings).")
    price: dict = Field(description="The charge's price for this subscription (plan + override).")
    minimum_amount: Plain | None = Field(description="The minimum for this subscription.")


class OverrideVersionPublic(BaseModel):
    subscription_id: str
    version: int
    effective_from: UtcDateTime
    plan_code: str
    plan_version: int
    base_fee_amount: Plain | None = Field(description="Null: the plan's base fee.")
    charges: list[ChargeOverridePublic]
    reason: str = Field(
        description="`replaced` (a PUT), `plan_change` or `migration` (carried over to another "
        "plan, or to another version of the same plan), `contract_ramp` (a contract's ramp) or "
        "`contract_end` (the overrides before a contract, back at the end of its term)."
    )
    created_at: UtcDateTime
    superseded_at: UtcDateTime | None = Field(
        description="Set when a later change replaced this version before it took effect."
    )


class OverrideVersionsPublic(BaseModel):
    data: list[OverrideVersionPublic]
    count: int
    current_version: int | None = Field(description="The version in force now, if any.")


def _overridden(row) -> dict:
    out: dict = {}
    for name in ("unit_amount", "package_size", "flat_amount", "free_units", "minimum_amount"):
        if getattr(row, name) is not None:
            out[name] = plain_decimal(getattr(row, name))
    if row.has_tiers:
        out["tiers"] = tiers_public(row.tiers)
    return out


def override_version_public(version: SubscriptionOverrideVersion) -> OverrideVersionPublic:
    effective = effective_charges(version)
    return OverrideVersionPublic(
        subscription_id=version.subscription_id,
        version=version.version,
        effective_from=version.effective_from,
        plan_code=version.plan.code,
        plan_version=version.plan.version,
        base_fee_amount=version.base_fee_amount,
        charges=[
            ChargeOverridePublic(
                meter=row.meter_key,
                overridden=_overridden(row),
                price=price_public(effective[row.meter_key].price),
                minimum_amount=effective[row.meter_key].minimum_amount,
            )
            for row in version.charges
        ],
        reason=version.reason,
        created_at=version.created_at,
        superseded_at=version.superseded_at,
    )


def override_versions_public(
    versions: list[SubscriptionOverrideVersion], current: SubscriptionOverrideVersion | None
) -> OverrideVersionsPublic:
    return OverrideVersionsPublic(
        data=[override_version_public(v) for v in versions],
        count=len(versions),
        current_version=current.version if current else None,
    )
