"""Response schemas (``*Public``): allocation rules."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from billing.control_plane.commands import Plain, RuleMatch


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


class AllocationRulesPublic(BaseModel):
    data: list[AllocationRulePublic]
    count: int
