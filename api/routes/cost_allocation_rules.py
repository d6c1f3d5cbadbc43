"""Cost allocation rules, tried in priority order (lowest first) on every cost line:

* direct rules give the lines they match to one cost center (`cost_center`);
* shared rules put them in a pool split `even`, `proportional` (to each target's direct cost),
  `fixed` (percentages adding up to 100) or by `usage` (each tenant's quantity of a meter in
  the billing period, to the tenant's cost center).

What no rule claims goes to the explicit `unallocated` center. The list is the rules in force:
the next pipeline run allocates with them.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import AdminDep, SessionDep
from api.schemas.allocation_rules import (
    AllocationRulePublic,
    AllocationRulesPublic,
    RuleSplitPublic,
    SplitTargetPublic,
)
from billing.control_plane.commands import AllocationRuleIn, RowId, RuleMatch
from billing.control_plane.models import CostAllocationRule
from billing.services import allocation_rules as rules
from billing.services.allocation_rules import MATCH_FIELDS

router = APIRouter(prefix="/cost-allocation-rules", tags=["cloud costs"])


def _public(rule: CostAllocationRule) -> AllocationRulePublic:
    split = None
    if rule.split_method is not None:
        split = RuleSplitPublic(
            method=rule.split_method,
            targets=[
                SplitTargetPublic(cost_center=t.cost_center_code, percentage=t.percentage)
                for t in rule.targets
            ],
            usage_meter=rule.usage_meter_key,
        )
    return AllocationRulePublic(
        id=rule.id,
        name=rule.name,
        priority=rule.priority,
        kind="shared" if rule.split_method else "direct",
        match=RuleMatch(**{f: getattr(rule, f"match_{f}") for f in MATCH_FIELDS}),
        cost_center=rule.cost_center_code,
        split=split,
        created_at=rule.created_at,
        updated_at=rule.updated_at,
    )


@router.get("", response_model=AllocationRulesPublic)
def list_rules(session: SessionDep, _admin: AdminDep):
    """The rules in force, in the order they are tried."""
    rows = rules.list_rules(session)
    return AllocationRulesPublic(data=[_public(r) for r in rows], count=len(rows))


@router.post("", response_model=AllocationRulePublic, status_code=201)
def create_rule(body: AllocationRuleIn, session: SessionDep, _admin: AdminDep):
    return _public(rules.create_rule(session, body))


@router.get("/{rule_id}", response_model=AllocationRulePublic)
def get_rule(rule_id: RowId, session: SessionDep, _admin: AdminDep):
    return _public(rules.get_rule(session, rule_id))


@router.put("/{rule_id}", response_model=AllocationRulePublic)
def replace_rule(rule_id: RowId, body: AllocationRuleIn, session: SessionDep, _admin: AdminDep):
    return _public(rules.replace_rule(session, rule_id, body))


@router.delete("/{rule_id}", status_code=204)
def delete_rule(rule_id: RowId, session: SessionDep, _admin: AdminDep):
    rules.delete_rule(session, rule_id)
    return Response(status_code=204)
