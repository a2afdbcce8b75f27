"""What is still free of a limited resource: the one rule that matches to needs and produce
orders both follow.

A resource's capacity is in units; its matches take units from ``remaining`` from approval on
(``matches.services``). A purchase resource (消费扶贫) is also a buyer's budget in yuan,
capacity x value per unit, and its produce orders hold yuan of it (``committed`` from the order
to the payment, then ``spent``: the ``produce_budget`` row kept by ``produce.services``). Neither
may take what the other holds:

    value left = remaining x value per unit - what the orders hold

A match of ``q`` units may be approved only while the value left after it is not below zero (so
``q`` units must remain, and what is left of them must still pay for the orders); an order may
spend at most the value left. An unlimited resource has no limit on either.

Resources sit below matches and produce and may not import them: the orders' holding is read
from the ``produce_budget`` table by name, as ``services._taken`` reads the match table. An
expression over the resource's own row can sit in the approval's conditional UPDATE, which
checks and takes in one statement.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import Any

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.resources.models import Resource, ResourceKind

CENT = Decimal("0.01")
# Amounts are kept to the fen; SQLite computes in floating point, so a comparison in SQL allows
# half a fen of rounding (never enough to let a whole fen through).
HALF_FEN = Decimal("0.005")
ORDERS_TABLE = "produce_budget"


def holds_orders(resource: Resource) -> bool:
    """Whether produce orders may hold part of this resource (a purchase resource)."""
    return resource.kind == ResourceKind.PURCHASE


def orders_hold_sql() -> sa.ColumnElement[Any]:
    """The yuan the resource's produce orders hold (committed + spent), as SQL over the
    resource's row; 0 when it has no orders."""
    table = db.metadata.tables.get(ORDERS_TABLE)
    if table is None:  # produce not loaded: no orders
        return sa.literal(0)
    held = (
        sa.select(table.c.committed + table.c.spent)
        .where(table.c.resource_id == Resource.id)
        .scalar_subquery()
    )
    return sa.func.coalesce(held, 0)


def can_take_sql(units: int) -> sa.ColumnElement[bool]:
    """The condition, over the resource's row, that ``units`` more units may be taken by a
    match: that many remain, and what is left of them still pays for the orders."""
    after = (Resource.remaining - units) * Resource.unit_value
    return sa.and_(Resource.remaining >= units, after >= orders_hold_sql() - HALF_FEN)


def orders_hold(resource: Resource) -> Decimal:
    """The yuan the resource's produce orders hold now (read afresh)."""
    if not holds_orders(resource):
        return Decimal(0)
    held = db.session.scalar(sa.select(orders_hold_sql()).where(Resource.id == resource.id))
    return Decimal(str(held or 0)).quantize(CENT)


def value_left(resource: Resource, *, held: Decimal | None = None) -> Decimal | None:
    """The value left for orders: remaining x value per unit - what the orders hold (None: no
    limit). Below zero only if the resource was edited under its orders."""
    if resource.remaining is None:
        return None
    held = orders_hold(resource) if held is None else held
    return (Decimal(resource.remaining) * resource.unit_value - held).quantize(CENT)


def units_for_orders(resource: Resource) -> int:
    """The units that pay for what the produce orders hold (a unit part-held counts whole)."""
    held = orders_hold(resource)
    if held <= 0 or resource.unit_value <= 0:
        return 0
    return int((held / resource.unit_value).to_integral_value(rounding=ROUND_CEILING))


def units_free(resource: Resource) -> int | None:
    """The units a match may still take (None: no limit): the remaining units less those that
    pay for what the orders hold (a unit part-held by orders is not free)."""
    if resource.remaining is None:
        return None
    return max(resource.remaining - units_for_orders(resource), 0)
