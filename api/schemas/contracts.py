"""Response schemas (``*Public``): contracts."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from api.schemas.common import from_attrs
from api.schemas.overrides import OverrideVersionPublic, override_version_public
from billing.control_plane.commands import Plain
from billing.control_plane.models import Contract
from billing.services.contracts import last_period_start, prepaid_wallet_id
from billing.timeutil import UtcDateTime


class RampPublic(BaseModel):
    starts_on: date
    ends_on: date = Field(description="The next ramp's start, or the end of the term.")
    overrides: OverrideVersionPublic = Field(
        description="The override version the ramp is (its prices from `starts_on`)."
    )


class InstalmentPublic(BaseModel):
    period_start: date = Field(description="The period whose invoice carries the instalment.")
    amount: Plain


class ContractPublic(BaseModel):
    id: str
    tenant_id: str
    subscription_id: str
    starts_on: date
    ends_on: date = Field(description="Excluded: the first period after the term.")
    last_period_start: date = Field(description="The period whose invoice carries the true-up.")
    currency: str
    postpaid_commit_amount: Plain | None
    prepaid_commit_amount: Plain | None
    prepaid_commit_rollover: bool
    prepaid_commit_instalments: list[InstalmentPublic] = Field(
        description="The invoices the prepaid commit is billed on."
    )
    prepaid_grant_id: int | None = Field(
        description="The wallet grant that holds the prepaid commit's balance (its wallet's "
        "ledger shows what the term's invoices drew from it)."
    )
    prepaid_wallet_id: int | None
    ramps: list[RampPublic]
    created_at: UtcDateTime


class ContractsPublic(BaseModel):
    data: list[ContractPublic]
    count: int


def contract_public(contract: Contract) -> ContractPublic:
    ends = [r.starts_on for r in contract.ramps[1:]] + [contract.ends_on][: len(contract.ramps)]
    return from_attrs(
        ContractPublic,
        contract,
        last_period_start=last_period_start(contract),
        prepaid_commit_instalments=[
            InstalmentPublic(period_start=i.period_start, amount=i.amount)
            for i in contract.instalments
        ],
        prepaid_wallet_id=prepaid_wallet_id(contract),
        ramps=[
            RampPublic(
                starts_on=ramp.starts_on,
                ends_on=end,
                overrides=override_version_public(ramp.override_version),
            )
            for ramp, end in zip(contract.ramps, ends, strict=True)
        ],
    )


def contracts_public(contracts: list[Contract]) -> ContractsPublic:
    return ContractsPublic(data=[contract_public(c) for c in contracts], count=len(contracts))
