"""Cost allocation rules, tried in priority order (lowest first) on every cost line:

* direct rules give the lines they match to one cost center (`cost_center`);
* shared rules put them in a pool split `even`, `proportional` (to each target's direct cost),
  `fixed` (percentages adding up to 100) or by `usage` (each tenant's quantity of a meter in
  the billing period, to the tenant's cost center).

What no rule claims goes to the explicit `unallocated` center. The list is the rules in force:
the next pipeline run allocates with them.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.control_plane.commands import AllocationRuleIn
from billing.control_plane.models import CostAllocationRule, CostAllocationTarget, Meter
from billing.errors import Conflict, Invalid
from billing.services.cost_centers import get_center
from billing.services.rows import get_row

MATCH_FIELDS = (
    "tag_key",
    "tag_value",
    "provider",
    "billing_account_id",
    "sub_account_id",
    "service_name",
)


def _validate(body: AllocationRuleIn, session, rule_id: int | None) -> None:
    match = body.match
    if all(getattr(match, f) is None for f in MATCH_FIELDS):
        raise Invalid("set at least one condition", "match")
    if match.tag_value is not None and match.tag_key is None:
        raise Invalid("needs match.tag_key", "match.tag_value")
    if (body.cost_center is None) == (body.split is None):
        raise Invalid("give exactly one of cost_center (direct) and split (shared)", "split")
    clash = session.scalars(
        select(CostAllocationRule.id).where(CostAllocationRule.priority == body.priority)
    ).first()
    if clash is not None and clash != rule_id:
        raise Conflict(f"rule {clash} already has priority {body.priority}")
    if body.cost_center is not None:
        get_center(session, body.cost_center, "cost_center")
        return
    split = body.split
    codes = [t.cost_center for t in split.targets]
    if len(set(codes)) != len(codes):
        raise Invalid("a cost center appears twice", "split.targets")
    for i, target in enumerate(split.targets):
        get_center(session, target.cost_center, f"split.targets[{i}].cost_center")
        if split.method == "fixed":
            if target.percentage is None or target.percentage <= 0 or target.percentage > 100:
                raise Invalid("must be above 0 and at most 100", f"split.targets[{i}].percentage")
            if -target.percentage.as_tuple().exponent > 6:
                raise Invalid("has more than 6 decimal places", f"split.targets[{i}].percentage")
        elif target.percentage is not None:
            raise Invalid("only goes with the fixed method", f"split.targets[{i}].percentage")
    if split.method == "usage":
        if not split.usage_meter:
            raise Invalid("is required for the usage method", "split.usage_meter")
        if session.get(Meter, split.usage_meter) is None:
            raise Invalid(f"no meter {split.usage_meter!r}", "split.usage_meter")
        if split.targets:
            raise Invalid(
                "the usage method splits over the tenants' cost centers; give no targets",
                "split.targets",
            )
    else:
        if split.usage_meter is not None:
            raise Invalid("only goes with the usage method", "split.usage_meter")
        if not split.targets:
            raise Invalid("give at least one cost center", "split.targets")
    if split.method == "fixed":
        total = sum((t.percentage for t in split.targets), Decimal(0))
        if total != 100:
            raise Invalid(f"percentages add up to {total}, not 100", "split.targets")


def _apply(rule: CostAllocationRule, body: AllocationRuleIn) -> None:
    rule.name = body.name
    rule.priority = body.priority
    for field in MATCH_FIELDS:
        setattr(rule, f"match_{field}", getattr(body.match, field))
    rule.cost_center_code = body.cost_center
    rule.split_method = body.split.method if body.split else None
    rule.usage_meter_key = body.split.usage_meter if body.split else None
    rule.targets = [
        CostAllocationTarget(cost_center_code=t.cost_center, percentage=t.percentage)
        for t in (body.split.targets if body.split else [])
    ]


def get_rule(session: Session, rule_id: int) -> CostAllocationRule:
    return get_row(session, CostAllocationRule, rule_id, f"allocation rule {rule_id} not found")


def list_rules(session: Session) -> list[CostAllocationRule]:
    """The rules in force, in the order they are tried."""
    return list(
        session.scalars(
            select(CostAllocationRule).order_by(CostAllocationRule.priority, CostAllocationRule.id)
        ).all()
    )


def create_rule(session: Session, body: AllocationRuleIn) -> CostAllocationRule:
    _validate(body, session, None)
    rule = CostAllocationRule()
    _apply(rule, body)
    session.add(rule)
    session.commit()
    return rule


def replace_rule(session: Session, rule_id: int, body: AllocationRuleIn) -> CostAllocationRule:
    rule = get_rule(session, rule_id)
    _validate(body, session, rule_id)
    rule.targets = []  # delete the old targets before inserting the new ones
    session.flush()
    _apply(rule, body)
    session.commit()
    return rule


def delete_rule(session: Session, rule_id: int) -> None:
    session.delete(get_rule(session, rule_id))
    session.commit()
