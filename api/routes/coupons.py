"""Coupons: percent or amount off, once, for N months or forever, with limits."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AdminDep, CallerDep, ClockDep, SessionDep
from api.schemas.coupons import CouponPublic, CouponsPublic
from billing.control_plane.commands import CouponCreate
from billing.control_plane.models import Coupon
from billing.services import coupons as logic

router = APIRouter(prefix="/coupons", tags=["coupons"])


def _public(coupon: Coupon) -> CouponPublic:
    return CouponPublic.model_validate(coupon, from_attributes=True)


@router.get("", response_model=CouponsPublic)
def list_coupons(session: SessionDep, _caller: CallerDep, include_archived: bool = False):
    rows = logic.list_coupons(session, include_archived)
    return CouponsPublic(data=[_public(c) for c in rows], count=len(rows))


@router.post("", response_model=CouponPublic, status_code=201)
def create_coupon(body: CouponCreate, session: SessionDep, _admin: AdminDep, clock: ClockDep):
    return _public(logic.create_coupon(session, body, clock()))


@router.get("/{code}", response_model=CouponPublic)
def read_coupon(code: str, session: SessionDep, _caller: CallerDep):
    return _public(logic.get_coupon(session, code))


@router.delete("/{code}", response_model=CouponPublic)
def archive_coupon(code: str, session: SessionDep, _admin: AdminDep, clock: ClockDep):
    """Archive a coupon: no new redemptions; subscriptions that have it keep it."""
    return _public(logic.archive_coupon(session, code, clock()))
