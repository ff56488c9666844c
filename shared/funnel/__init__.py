"""dailyFunnel's wing: the funnel definition, the run, its Mongo store and the report.

Other wings use it through these names: the rewards ledger credits orders with the funnel's own attribution
(one definition of model, window and which orders are paid).
"""

from shared.funnel.definition import SHANGHAI, Landing, Order, credit_orders, day_bounds, first_touches_of, parse_date
from shared.funnel.settings import FunnelSettings, OrderMapping
from shared.funnel.store import ORDERS_TIME_INDEX, orders_collection

__all__ = [
    "ORDERS_TIME_INDEX",
    "orders_collection",
    "SHANGHAI",
    "FunnelSettings",
    "Landing",
    "Order",
    "OrderMapping",
    "credit_orders",
    "day_bounds",
    "first_touches_of",
    "parse_date",
]
