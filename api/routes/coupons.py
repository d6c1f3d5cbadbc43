"""Coupons: percent or amount off, once, for N months or forever, with limits."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from api.deps import AdminDep, CallerDep, ClockDep, SessionDep
from api.schemas.coupons import CouponPublic, CouponsPublic
from billing.control_plane.commands import CouponCreate
from billing.control_plane.models import Coupon, Plan
from billing.errors import Conflict, Invalid
from billing.services.plans import check_amount, check_currency
from billing.services.quotes import get_coupon
from billing.timeutil import to_utc

router = APIRouter(prefix="/coupons", tags=["coupons"])


def _public(coupon: Coupon) -> CouponPublic:
    return CouponPublic.model_validate(coupon, from_attributes=True)


@router.get("", response_model=CouponsPublic)
def list_coupons(session: SessionDep, _caller: CallerDep, include_archived: bool = False):
    query = select(Coupon).order_by(Coupon.code)
    if not include_archived:
        query = query.where(Coupon.archived_at.is_(None))
    rows = session.scalars(query).all()
    return CouponsPublic(data=[_public(c) for c in rows], count=len(rows))


@router.post("", response_model=CouponPublic, status_code=201)
def create_coupon(body: CouponCreate, session: SessionDep, _admin: AdminDep, clock: ClockDep):
    if (body.percent_off is None) == (body.amount_off is None):
        raise Invalid("give exactly one of percent_off and amount_off", "percent_off")
    if body.amount_off is not None:
        if body.currency is None:
            raise Invalid("is required with amount_off", "currency")
        check_currency(body.currency)
        check_amount(body.amount_off, "amount_off")
    elif body.currency is not None:
        raise Invalid("only goes with amount_off", "currency")
    if (body.duration == "repeating") != (body.duration_in_months is not None):
        raise Invalid("is required for, and only for, a repeating coupon", "duration_in_months")
    redeem_by = to_utc(body.redeem_by, None) if body.redeem_by else None
    if redeem_by is not None and redeem_by < clock():
        raise Invalid("is in the past", "redeem_by")
    for i, code in enumerate(body.plan_codes):
        if session.scalars(select(Plan.id).where(Plan.code == code)).first() is None:
            raise Invalid(f"no plan {code!r}", f"plan_codes[{i}]")
    if session.scalars(select(Coupon.id).where(Coupon.code == body.code)).first() is not None:
        raise Conflict(f"coupon {body.code!r} already exists")
    coupon = Coupon(
        code=body.code,
        name=body.name,
        percent_off=body.percent_off,
        amount_off=body.amount_off,
        currency=body.currency,
        duration=body.duration,
        duration_in_months=body.duration_in_months,
        max_redemptions=body.max_redemptions,
        redeem_by=redeem_by,
        plan_codes=list(body.plan_codes),
        times_redeemed=0,
    )
    session.add(coupon)
    session.commit()
    return _public(coupon)


@router.get("/{code}", response_model=CouponPublic)
def read_coupon(code: str, session: SessionDep, _caller: CallerDep):
    return _public(get_coupon(session, code))


@router.delete("/{code}", response_model=CouponPublic)
def archive_coupon(code: str, session: SessionDep, _admin: AdminDep, clock: ClockDep):
    """Archive a coupon: no new redemptions; subscriptions that have it keep it."""
    coupon = get_coupon(session, code)
    if coupon.archived_at is not None:
        raise Conflict(f"coupon {code!r} is already archived")
    coupon.archived_at = clock()
    session.commit()
    return _public(coupon)
