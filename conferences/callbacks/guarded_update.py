"""One UPDATE statement made of guarded assignments: each column takes its new value only
where its guard holds of the row as it stood before the statement.

The applier's forward-only rules are such guards ("status moves forward", "keep the
earliest time"); written as one statement per event they cost one round trip instead of
one per rule, and stay exactly as safe under concurrency: PostgreSQL evaluates every guard
on the row version it locks, so a concurrent writer's change is seen, never overwritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db import connection, models


@dataclass(frozen=True)
class Guarded:
    """Set `values` (field name: value) where `guard` (SQL over the old row) holds.

    The guard names columns with `{column}` placeholders (`"{status} IN %s"`), filled in
    quoted; its own parameters follow in `params`. An empty guard always holds.
    """

    guard: str
    params: tuple[Any, ...] = ()
    values: dict[str, Any] = field(default_factory=dict)


def one_of(values: Sequence[str]) -> str:
    """`IN (%s, …)` for a guard, with one placeholder per value (portable SQL)."""
    return "IN (" + ", ".join(["%s"] * len(values)) + ")" if values else "IN (NULL)"


@cache
def _columns(model: type[models.Model]) -> dict[str, str]:
    quote = connection.ops.quote_name
    return {f.name: quote(str(f.column)) for f in model._meta.concrete_fields}


def _guard_sql(model: type[models.Model], guarded: Guarded) -> str:
    return f"({guarded.guard.format_map(_columns(model))})" if guarded.guard else "(1 = 1)"


def guarded_update(
    model: type[models.Model],
    pk: int,
    steps: Sequence[Guarded],
    *,
    where: Guarded | None = None,
    touch: tuple[str, Any] | None = None,
) -> int:
    """Run the steps as one UPDATE of the row `pk` (and `where`, if given); returns the rows
    changed (0 when no guard held: then nothing is written at all).

    `touch` (field, value) is set whenever any step's guard held, as `updated_at` is by
    every update. No column may be set by two steps: they would see each other's old row.
    """
    if not steps:
        return 0
    columns = _columns(model)
    assignments: list[str] = []
    params: list[Any] = []
    seen: set[str] = set()
    for step in steps:
        guard = _guard_sql(model, step)
        for name, value in step.values.items():
            if name in seen:
                raise ValueError(f"{name} is set by two steps of one update")
            seen.add(name)
            column = columns[name]
            assignments.append(f"{column} = CASE WHEN {guard} THEN %s ELSE {column} END")
            params.extend((*step.params, value))
    any_guard = " OR ".join(_guard_sql(model, step) for step in steps)
    any_params = [param for step in steps for param in step.params]
    if touch is not None:
        column = columns[touch[0]]
        assignments.append(f"{column} = CASE WHEN {any_guard} THEN %s ELSE {column} END")
        params.extend((*any_params, touch[1]))
    conditions = [f"{columns['id']} = %s"]
    params.append(pk)
    if where is not None:
        conditions.append(_guard_sql(model, where))
        params.extend(where.params)
    conditions.append(f"({any_guard})")
    params.extend(any_params)
    # Identifiers come from the model, every value is a parameter.
    sql = (
        f"UPDATE {connection.ops.quote_name(model._meta.db_table)} "  # noqa: S608
        f"SET {', '.join(assignments)} WHERE {' AND '.join(conditions)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)
