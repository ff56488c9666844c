"""The app's own orders: where the mini program keeps them (its ``orders`` collection, fields mapped by
configuration), which count as paid, the index this product adds, and how the funnel and the reward ledger read them.
Orders are the app's: this wing never writes one; it alone names the collection.
"""

from shared.orders.reads import ORDERS_TIME_INDEX, OrderReads, orders_collection
from shared.orders.settings import VARIABLES, Order, OrderMapping, read_amount_scale, read_order_mapping

__all__ = [
    "ORDERS_TIME_INDEX",
    "VARIABLES",
    "Order",
    "OrderMapping",
    "OrderReads",
    "orders_collection",
    "read_amount_scale",
    "read_order_mapping",
]
