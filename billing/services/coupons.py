"""Coupons: percent or amount off, once, for N months or forever, with limits. Redeeming one
is the subscription's business (``billing.services.subscriptions.redeem_coupon``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.control_plane.commands import CouponCreate
from billing.control_plane.models import Coupon, Plan
from billing.errors import Conflict, Invalid
from billing.services.plans import check_amount, check_currency
from billing.services.rows import first_row
from billing.timeutil import to_utc


def get_coupon(session: Session, code: str) -> Coupon:
    query = select(Coupon).where(Coupon.code == code)
    return first_row(session, query, f"coupon {code!r} not found")


def redeemable_coupon(session: Session, code: str, now: datetime) -> Coupon:
    """The coupon ``code`` if it can be redeemed at ``now``: 404 if there is none, 409 if it is
    archived or its redeem-by time has passed (whether it fits a plan is the caller's check)."""
    coupon = get_coupon(session, code)
    if coupon.archived_at is not None:
        raise Conflict(f"coupon {code!r} is archived")
    if coupon.redeem_by is not None and now > coupon.redeem_by:
        raise Conflict(f"coupon {code!r} could be redeemed until {coupon.redeem_by}")
    return coupon


def list_coupons(session: Session, include_archived: bool = False) -> list[Coupon]:
    query = select(Coupon).order_by(Coupon.code)
    if not include_archived:
        query = query.where(Coupon.archived_at.is_(None))
    return list(session.scalars(query).all())


def create_coupon(session: Session, body: CouponCreate, now: datetime) -> Coupon:
    """Exactly one of percent_off and amount_off (an amount in a currency); months only for a
    repeating coupon; a redeem-by time not in the past; plans that exist; a new code."""
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
    if redeem_by is not None and redeem_by < now:
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
    return coupon


def archive_coupon(session: Session, code: str, now: datetime) -> Coupon:
    """No new redemptions; subscriptions that have the coupon keep it."""
    coupon = get_coupon(session, code)
    if coupon.archived_at is not None:
        raise Conflict(f"coupon {code!r} is already archived")
    coupon.archived_at = now
    session.commit()
    return coupon
