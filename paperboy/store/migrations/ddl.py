"""The shapes the migrations repeat, written once: key and reference columns, runs of columns of one
type, and tables with their constraints and indexes named as `paperboy.store.schema.metadata` names them.

Migrations are history: what a function here builds is part of what every migration that calls it
creates, so a change may only add options, never alter what an existing call produces.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from alembic import op

TIMESTAMP = sa.DateTime(timezone=True)
PAPER_ID = sa.String(length=64)  # papers.id: an arXiv id, or "pb-<hash>"
EMAIL = sa.String(length=254)


def key() -> sa.Column:
    """The autoincrementing integer `id` most tables are keyed by."""
    return sa.Column("id", sa.Integer(), autoincrement=True, nullable=False)


def columns(type_: sa.types.TypeEngine, *names: str, nullable: bool = True, **kw) -> list[sa.Column]:
    """Consecutive columns of one type and the same options (nullable unless said otherwise)."""
    return [sa.Column(name, type_, nullable=nullable, **kw) for name in names]


def required(type_: sa.types.TypeEngine, *names: str, **kw) -> list[sa.Column]:
    """Consecutive NOT NULL columns of one type."""
    return columns(type_, *names, nullable=False, **kw)


def counters(*names: str) -> list[sa.Column]:
    """Integer counts that start at 0."""
    return required(sa.Integer(), *names, server_default="0")


def paper_id(nullable: bool = False) -> sa.Column:
    return sa.Column("paper_id", PAPER_ID, nullable=nullable)


def user_id(nullable: bool = False) -> sa.Column:
    return sa.Column("user_id", sa.Integer(), nullable=nullable)


def create_table(
    name: str,
    *cols: sa.Column,
    refs: dict[str, str] | None = None,
    set_null: Iterable[str] = (),
    primary_key: Iterable[str] = ("id",),
    unique: Iterable[str] = (),
    indexes: Iterable[str | tuple[str, ...]] = (),
) -> None:
    """Create table `name` with its constraints and indexes, named fk_<table>_<column>_<referred>,
    pk_<table>, uq_<table>_<first column> and ix_<table>_<columns joined by _>.

    refs maps a column to the table whose `id` it references: ON DELETE CASCADE, or SET NULL for the
    columns in `set_null`. `unique` is one unique constraint over those columns.
    """
    constraints: list[sa.Constraint] = [
        sa.ForeignKeyConstraint(
            [column],
            [f"{referred}.id"],
            name=op.f(f"fk_{name}_{column}_{referred}"),
            ondelete="SET NULL" if column in set_null else "CASCADE",
        )
        for column, referred in (refs or {}).items()
    ]
    primary_key = list(primary_key)
    constraints.append(sa.PrimaryKeyConstraint(*primary_key, name=op.f(f"pk_{name}")))
    unique = list(unique)
    if unique:
        constraints.append(sa.UniqueConstraint(*unique, name=op.f(f"uq_{name}_{unique[0]}")))
    op.create_table(name, *cols, *constraints)
    for index in indexes:
        create_index(name, index)


def create_index(table: str, index: str | tuple[str, ...]) -> None:
    """A plain index ix_<table>_<columns joined by _> on one column or a tuple of them."""
    names = [index] if isinstance(index, str) else list(index)
    op.create_index(op.f(f"ix_{table}_{'_'.join(names)}"), table, names, unique=False)


def drop_index(table: str, index: str | tuple[str, ...]) -> None:
    names = [index] if isinstance(index, str) else list(index)
    op.drop_index(op.f(f"ix_{table}_{'_'.join(names)}"), table_name=table)


def drop_tables(*names: str) -> None:
    """Drop tables, children first (their indexes go with them)."""
    for name in names:
        op.drop_table(name)


def reader_marks(name: str, indexes: Iterable[str] = ()) -> None:
    """A table of one mark per reader and paper (a vote, a saved paper, "not interested") with its time,
    keyed by the pair and deleted with either."""
    create_table(
        name,
        user_id(),
        paper_id(),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        refs={"paper_id": "papers", "user_id": "users"},
        primary_key=["user_id", "paper_id"],
        indexes=indexes,
    )


def owned_by_reader(name: str, name_length: int, *cols: sa.Column) -> None:
    """A table of things a reader names (profiles, collections): an id, the owner, a name unique per
    owner, then `cols`; deleted with the owner."""
    create_table(
        name,
        key(),
        user_id(),
        sa.Column("name", sa.String(length=name_length), nullable=False),
        *cols,
        refs={"user_id": "users"},
        unique=["user_id", "name"],
        indexes=["user_id"],
    )
