"""The checked-in migrations build exactly the schema the models describe, and go down."""

from __future__ import annotations

from alembic import command

from realtoros_crm.migrate import alembic_config
from realtoros_crm.settings import normalise_database_url


def test_migrations_match_the_models_and_downgrade(database_url: str) -> None:
    config = alembic_config(normalise_database_url(database_url))
    command.check(config)  # raises when autogenerate would find a difference
    command.downgrade(config, "base")
    command.upgrade(config, "head")
    command.check(config)
