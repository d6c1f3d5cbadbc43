"""Cost dashboard: chart-ready series read from the dashboard marts in the serving snapshot.

Every response has ``labels`` (the x axis: periods or days) and ``series`` (one per line or
bar: a name and one decimal string per label, money rounded half-up to the currency's minor
unit), plus the rows behind them where a table is useful. The finance view of the whole
warehouse: admin key only. Billing views (revenue, invoices, tiles, margin, unit costs) are in
``revenue``, cloud cost views in ``cloud``; both register on ``shared.router``.
"""

from api.routes.cost_dashboard import cloud, revenue
from api.routes.cost_dashboard.shared import router

__all__ = ["cloud", "revenue", "router"]
