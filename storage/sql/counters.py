"""The anonymous counters through SQLAlchemy: adding one to a counter, and reading the figures.

Synchronous, for a worker thread (:class:`storage.sql.store.SqlStore` runs them and checks what is
counted first). The per-update outcome count is not here: it is one of the per-update statements
(:mod:`storage.sql.statements`), in the same transaction as the conversation row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, Table, UpdateBase, func
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, select

from storage.base import ABANDONED
from storage.tables import FeedbackCountRow, LookupCountRow, OutcomeCountRow


def _table(model: type[SQLModel]) -> Table:
    return SQLModel.metadata.tables[str(model.__tablename__)]


def increment(backend: str, model: type[SQLModel], keys: dict[str, Any]) -> UpdateBase:
    """Insert a counter row at 1, or add 1 to it."""
    table = _table(model)
    bump = {"count": table.c["count"] + 1}
    if backend == "postgresql":
        pg = postgresql.insert(table).values(**keys, count=1)
        return pg.on_conflict_do_update(index_elements=list(keys), set_=bump)
    lite = sqlite.insert(table).values(**keys, count=1)
    return lite.on_conflict_do_update(index_elements=list(keys), set_=bump)


def count(engine: Engine, model: type[SQLModel], keys: dict[str, Any]) -> None:
    """Add one to the counter ``keys`` of ``model``, in its own transaction."""
    with Session(engine) as session, session.begin():
        session.exec(increment(engine.dialect.name, model, keys))


def feedback_counts(engine: Engine, since: dt.date) -> list[tuple[dt.date, str, int, str, int]]:
    """(day, level, blocks, content version, count) for every day from ``since``, in order."""
    with Session(engine) as session:
        rows = session.exec(select(FeedbackCountRow).where(col(FeedbackCountRow.day) >= since)).all()
        return sorted((r.day, r.level, r.blocks, r.content_version, r.count) for r in rows)


def outcome_counts(engine: Engine, since: dt.date) -> list[tuple[dt.date, str, str, str, int]]:
    """(day, level, content version, service, count) for every day from ``since``, in order."""
    o = OutcomeCountRow
    group = (col(o.day), col(o.level), col(o.content_version), col(o.service))
    with Session(engine) as session:
        rows = session.execute(
            sa_select(*group, func.sum(col(o.count)))
            .where(col(o.day) >= since)
            .group_by(*group)
            .order_by(*group)
        ).all()
        return [(day, level, version, service, int(n)) for day, level, version, service, n in rows]


def channel_counts(engine: Engine, since: dt.date) -> list[tuple[dt.date, str, int]]:
    """(day, channel, count) of finished checks for every day from ``since``, in order."""
    o = OutcomeCountRow
    group = (col(o.day), col(o.channel))
    with Session(engine) as session:
        rows = session.execute(
            sa_select(*group, func.sum(col(o.count)))
            .where(col(o.day) >= since, col(o.level) != ABANDONED)
            .group_by(*group)
            .order_by(*group)
        ).all()
        return [(day, channel, int(n)) for day, channel, n in rows]


def lookup_counts(engine: Engine, since: dt.date) -> list[tuple[dt.date, str, int]]:
    """(day, lookup name, count) for every day from ``since``, in order."""
    with Session(engine) as session:
        rows = session.exec(
            select(LookupCountRow)
            .where(col(LookupCountRow.day) >= since)
            .order_by(col(LookupCountRow.day), col(LookupCountRow.name))
        ).all()
        return [(r.day, r.name, r.count) for r in rows]
