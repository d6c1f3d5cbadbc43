"""Builds the FastAPI app: ``uvicorn api.main:app`` or ``billing serve``."""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from adapters.warehouse.serving import MissingTable, ServingReader
from api.deps import MeterCache
from api.nul_guard import refuse_nul_characters
from api.quota_cache import QuotaCache
from api.routes import (
    alerts,
    analytics,
    api_keys,
    contracts,
    cost_allocation_rules,
    cost_centers,
    cost_dashboard,
    cost_ingestion,
    costs,
    coupons,
    dashboard,
    health,
    invoices,
    meters,
    plans,
    pricing,
    quotas,
    stripe,
    subscriptions,
    tenants,
    usage,
    wallets,
)
from api.schemas.common import ERROR_RESPONSES
from billing.control_plane.db import migrate
from billing.errors import ApiError, error_body, status_code_name, validation_body
from billing.rules.events import utc_now
from billing.settings import Settings, get_settings

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1/billing"

# Control-plane database errors: (type, status, code, message, log level).
DATABASE_ERRORS = (
    (DataError, 422, "invalid", "a value is outside what the database can store", logging.WARNING),
    (IntegrityError, 409, "conflict", "the change conflicts with existing data", logging.WARNING),
    (
        OperationalError,
        503,
        "unavailable",
        "the control-plane database is unavailable",
        logging.ERROR,
    ),
)


def _database_error(status: int, code: str, message: str, level: int):
    async def handler(_request: Request, exc: Exception) -> JSONResponse:
        log.log(level, "control-plane database: %s: %s", message, getattr(exc, "orig", exc))
        return JSONResponse(status_code=status, content=error_body(code, message))

    return handler


def create_app(settings: Settings | None = None, run_migrations: bool = True) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        app.state.reader.close()
        app.state.quota_cache.close()
        if app.state.producer is not None:
            app.state.producer.close()

    app = FastAPI(
        title="Billing warehouse API",
        version="0.1.0",
        description=(
            "Usage, billing and cost marts served from the warehouse, and the control plane "
            "(meters, keys, ...). Every `/api/v1/billing` endpoint needs a key: "
            "`Authorization: Bearer <key>` or `X-API-Key: <key>`."
        ),
        lifespan=lifespan,
    )
    if run_migrations:
        migrate(settings)
    app.state.settings = settings
    app.state.admin_key = settings.resolved_admin_api_key()
    app.state.reader = ServingReader(settings)
    app.state.producer = None
    app.state.lock = threading.Lock()
    app.state.meter_cache = MeterCache(
        max_future=timedelta(seconds=settings.max_event_future_seconds)
    )
    app.state.clock = utc_now
    app.state.quota_cache = QuotaCache(settings)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(_request: Request, exc: RequestValidationError):
        return JSONResponse(
            status_code=422, content=validation_body(jsonable_encoder(exc.errors()))
        )

    @app.exception_handler(ApiError)
    async def on_api_error(_request: Request, exc: ApiError):
        return JSONResponse(
            status_code=exc.status,
            content=error_body(exc.code, exc.message, exc.field, detail=exc.detail),
        )

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(_request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return JSONResponse(
            status_code=exc.status_code,
            content=error_body(status_code_name(exc.status_code), message),
            headers=exc.headers,
        )

    @app.exception_handler(MissingTable)
    async def on_missing_table(_request: Request, exc: MissingTable):
        return JSONResponse(
            status_code=503,
            content=error_body("unavailable", f"{exc}; the pipeline has not built it yet"),
        )

    # Safety nets: input the checks above missed, refused by the database (nothing written:
    # the request's transaction rolls back). A 4xx (503 while it is down), never a 500.
    for error_type, status, code, message, level in DATABASE_ERRORS:
        app.add_exception_handler(error_type, _database_error(status, code, message, level))

    @app.get("/healthz", include_in_schema=False)
    async def healthz():
        return {"status": "ok"}

    # Every operation documents the one error body (billing.errors) for every error status.
    billing = APIRouter(
        prefix=API_PREFIX,
        responses=ERROR_RESPONSES,
        dependencies=[Depends(refuse_nul_characters)],
    )
    # Routes are matched in order: the quotas (with the callers' hot-path check) come first.
    billing.include_router(quotas.router)
    billing.include_router(usage.router)
    billing.include_router(meters.router)
    billing.include_router(api_keys.router)
    billing.include_router(plans.router)
    billing.include_router(pricing.router)
    billing.include_router(subscriptions.router)
    billing.include_router(coupons.router)
    billing.include_router(contracts.router)
    billing.include_router(tenants.router)
    billing.include_router(wallets.router)
    billing.include_router(invoices.router)
    billing.include_router(cost_ingestion.router)
    billing.include_router(cost_centers.router)
    billing.include_router(cost_centers.tenants_router)
    billing.include_router(cost_allocation_rules.router)
    billing.include_router(costs.router)
    billing.include_router(alerts.router)
    billing.include_router(stripe.router)
    billing.include_router(cost_dashboard.router)
    billing.include_router(analytics.router)
    billing.include_router(health.router)
    app.include_router(billing)
    dashboard.mount(app)
    return app


def __getattr__(name: str):
    # `uvicorn api.main:app` builds the app from the environment on first access only.
    if name == "app":
        return create_app()
    raise AttributeError(name)
