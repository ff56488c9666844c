"""Where the app keeps its orders and which fields say who bought, when, how much and whether it is paid."""

from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple

from shared.platform.config import EnvReader

ENV_ORDERS_COLLECTION = "ORDERS_COLLECTION"
ENV_ORDER_USER_FIELD = "ORDER_USER_FIELD"
ENV_ORDER_TIME_FIELD = "ORDER_TIME_FIELD"
ENV_ORDER_AMOUNT_FIELD = "ORDER_AMOUNT_FIELD"
ENV_ORDER_STATUS_FIELD = "ORDER_STATUS_FIELD"
ENV_ORDER_PAID_VALUES = "ORDER_PAID_VALUES"
ENV_AMOUNT_SCALE = "REPORT_AMOUNT_SCALE"  # stored amount per shown unit: 100 when orders store fen
VARIABLES = (
    ENV_ORDERS_COLLECTION,
    ENV_ORDER_USER_FIELD,
    ENV_ORDER_TIME_FIELD,
    ENV_ORDER_AMOUNT_FIELD,
    ENV_ORDER_STATUS_FIELD,
    ENV_ORDER_PAID_VALUES,
    ENV_AMOUNT_SCALE,
)
_COLLECTION = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,119}")


class Order(NamedTuple):
    """One paid order as this product reads it (the app's own fields mapped)."""

    order_id: str
    user: str
    at: dt.datetime
    amount: float  # in the orders' unit (REPORT_AMOUNT_SCALE of them make one yuan)


class OrderMapping(NamedTuple):
    collection: str = "orders"
    user_field: str = "_openid"
    time_field: str = "createdAt"
    amount_field: str = "amount"
    status_field: str | None = None
    paid_values: tuple[str, ...] = ()


def read_order_mapping(read: EnvReader) -> OrderMapping:
    """The mapping from ``ORDERS_COLLECTION`` and ``ORDER_*`` (problems are added to ``read``)."""
    problems = read.problems
    collection = read.text(ENV_ORDERS_COLLECTION, "orders") or ""
    if not _COLLECTION.fullmatch(collection):
        problems.append(f"{ENV_ORDERS_COLLECTION} is not a valid collection name: {collection!r}")
    field_path = read.field_path

    user_field = field_path(ENV_ORDER_USER_FIELD, "_openid") or ""
    time_field = field_path(ENV_ORDER_TIME_FIELD, "createdAt") or ""
    amount_field = field_path(ENV_ORDER_AMOUNT_FIELD, "amount") or ""
    status_field = field_path(ENV_ORDER_STATUS_FIELD, None)
    paid = read.items(ENV_ORDER_PAID_VALUES)
    if status_field and not paid:
        problems.append(f"{ENV_ORDER_PAID_VALUES} is required with {ENV_ORDER_STATUS_FIELD} (e.g. paid,completed)")
    if paid and not status_field:
        problems.append(f"{ENV_ORDER_STATUS_FIELD} is required with {ENV_ORDER_PAID_VALUES}")
    return OrderMapping(
        collection=collection,
        user_field=user_field,
        time_field=time_field,
        amount_field=amount_field,
        status_field=status_field,
        paid_values=paid,
    )


def read_amount_scale(read: EnvReader) -> int:
    """How many of the orders' amount units make one yuan (1: yuan; 100: fen)."""
    return read.integer(ENV_AMOUNT_SCALE, 1, 1, 10000)
