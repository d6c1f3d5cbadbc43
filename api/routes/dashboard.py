"""The web dashboard: one static page and its script, plus the vendored chart library, all
served by the API (works offline). The page itself needs no key; it calls
``/api/v1/billing/cost-dashboard/...`` with the admin key the user enters (kept in the
browser's localStorage) or passes once as ``/dashboard#key=<admin key>``."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"

router = APIRouter(tags=["dashboard"])


@router.get("/dashboard", include_in_schema=False)
def dashboard() -> FileResponse:
    return FileResponse(STATIC_DIR / "dashboard.html", media_type="text/html")


def mount(app: FastAPI) -> None:
    """Serve the page and its static files under ``/dashboard``."""
    app.include_router(router)
    app.mount("/dashboard/static", StaticFiles(directory=STATIC_DIR), name="dashboard-static")
