"""The stack's database: created when missing, its URL in asyncpg's form and redacted for
messages."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import asyncpg

from realtoros_devstack.stack import SetupError


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def asyncpg_url(url: str) -> str:
    """asyncpg takes ``postgresql://``; SQLAlchemy-style URLs name the driver."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}"


async def ensure_database(url: str, timeout: float = 15.0) -> bool:
    """Create the database named in ``url`` if it does not exist; True when created."""
    url = asyncpg_url(url)
    try:
        conn = await asyncpg.connect(url, timeout=timeout)
    except asyncpg.InvalidCatalogNameError:
        pass
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise SetupError(f"cannot connect to PostgreSQL at {redact(url)}: {exc}") from exc
    else:
        await conn.close()
        return False
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")), timeout=timeout)
    try:
        quoted = name.replace('"', '""')
        await admin.execute(f'CREATE DATABASE "{quoted}"')
    except asyncpg.DuplicateDatabaseError:
        return False
    finally:
        await admin.close()
    return True
