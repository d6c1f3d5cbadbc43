"""Cost dashboard: chart-ready series read from the dashboard marts in the serving snapshot.

Every response has ``labels`` (the x axis: periods or days) and ``series`` (one per line or
bar: a name and one decimal string per label, money rounded half-up to the currency's minor
unit), plus the rows behind them where a table is useful. The finance view of the whole
warehouse: admin key only. Billing views (revenue, invoices, tiles) are in ``revenue``, cloud cost
views in ``cloud``, tenant margin and unit costs in ``margin``.
"""

from fastapi import APIRouter, Depends

from api.deps import require_admin
from api.routes.cost_dashboard import cloud, margin, revenue

router = APIRouter(
    prefix="/cost-dashboard", tags=["cost dashboard"], dependencies=[Depends(require_admin)]
)
# In the order of the reference: billing views, cloud cost, unit economics.
router.include_router(revenue.router)
router.include_router(cloud.router)
router.include_router(margin.router)

__all__ = ["router"]
