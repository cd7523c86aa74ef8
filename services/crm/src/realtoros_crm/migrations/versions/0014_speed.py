"""The client search through a full-text index, and the claim's probe index.

Search: PostgreSQL's built-in full-text search, which every server has (the embedded one
ships no ``pg_trgm``). A generated ``tsvector`` column holds the words of the name, email,
phone and address (punctuation splits words, so ``casa.example`` and ``010-0142`` are words
too) and, for the phone, every suffix of its digits (``tel`` + digits), so that a digit
query matches anywhere in the number. ``client_search_query`` turns what the agent typed
into a prefix query over the same words, in the database, so that both sides are split by
the same parser. The GIN index has ``fastupdate`` off: with it on, edits pile up in the
index's pending list, which every search reads in full and which made the planner give
the index up for a scan of every row (docs/benchmarks.md, "search after edits").

The trigram index of 0003 (only where the server had ``pg_trgm``) and the ``search_text``
column it indexed are gone: one search, the same everywhere.

Claim: tasks due, pending and of the email kind, in due order, with their plan run:
the claim's locking SELECT reads it in order, and the "is anything due?" probe before a
claim is an index-only scan of it.

Revision ID: 0014_speed
Revises: 0013_spreading (was 0011_webapp; re-chained after merging main)
Create Date: 2026-12-02 08:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014_speed"
down_revision: str | None = "0013_spreading"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Words: ASCII punctuation splits them (the default parser would keep e-mail addresses,
# host names and signed numbers whole, so "casa" would not find maria@casa.example).
SEARCH_VECTOR_FUNCTION = r"""
CREATE OR REPLACE FUNCTION client_search_vector(
    name text, email text, phone text, address text
) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT to_tsvector(
           'simple'::regconfig,
           regexp_replace(
             concat_ws(' ', name, email, phone, address), '[[:punct:]]+', ' ', 'g'))
      || array_to_tsvector(ARRAY(
           SELECT 'tel' || substr(d.digits, i)
           FROM (SELECT regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g') AS digits) AS d,
                generate_series(1, length(d.digits) - 2) AS i))
$$
"""

# Every word of the query, as a prefix, all of them (AND); a query of digits and phone
# punctuation with 3 or more digits also matches those digits anywhere in a phone (OR).
# NULL (no rows) when the query has no word at all.
SEARCH_QUERY_FUNCTION = r"""
CREATE OR REPLACE FUNCTION client_search_query(q text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT nullif(concat_ws(' | ',
      (SELECT '(' || string_agg(
                '''' || replace(replace(w, '\', '\\'), '''', '''''') || ''':*', ' & ')
              || ')'
         FROM unnest(tsvector_to_array(to_tsvector(
                'simple'::regconfig, regexp_replace(q, '[[:punct:]]+', ' ', 'g')))) AS w),
      CASE WHEN q ~ '^[0-9\s().+/-]+$'
                AND length(regexp_replace(q, '[^0-9]', '', 'g')) >= 3
           THEN '''tel' || regexp_replace(q, '[^0-9]', '', 'g') || ''':*'
      END), '')::tsquery
$$
"""

SEARCH_TEXT = (
    "lower(name || ' ' || coalesce(email, '') || ' ' || coalesce(phone, '') || ' ' || "
    "regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g') || ' ' || "
    "coalesce(property_address, ''))"
)


def upgrade() -> None:
    op.execute(SEARCH_VECTOR_FUNCTION)
    op.execute(SEARCH_QUERY_FUNCTION)
    op.add_column(
        "clients",
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(
                "client_search_vector(name, email, phone, property_address)", persisted=True
            ),
            nullable=True,
        ),
    )
    op.create_index(
        "ix_clients_search_vector",
        "clients",
        ["search_vector"],
        postgresql_using="gin",
        postgresql_with={"fastupdate": "off"},
    )
    op.execute("DROP INDEX IF EXISTS ix_clients_search_text")
    op.drop_column("clients", "search_text")
    op.create_index(
        "ix_tasks_due_email",
        "tasks",
        ["due_at", "id"],
        postgresql_where=sa.text("status = 'pending' AND task_type = 'email'"),
        postgresql_include=["plan_run_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_due_email", table_name="tasks")
    op.add_column(
        "clients",
        sa.Column("search_text", sa.Text(), sa.Computed(SEARCH_TEXT, persisted=True)),
    )
    op.drop_index("ix_clients_search_vector", table_name="clients")
    op.drop_column("clients", "search_vector")
    op.execute("DROP FUNCTION IF EXISTS client_search_query(text)")
    op.execute("DROP FUNCTION IF EXISTS client_search_vector(text, text, text, text)")
