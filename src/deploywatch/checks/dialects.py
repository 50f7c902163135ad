"""Which SQL dialect (sqlglot's name) a warehouse URL speaks."""

from __future__ import annotations

__all__ = ["DialectError", "dialect_for_url", "known_dialect"]

# SQLAlchemy backend name (the part of the URL scheme before "+driver") -> sqlglot dialect; "sc" (Spark Connect)
# and "spark" (a local Spark) are run by checks/spark.py.
_BACKENDS = {
    "duckdb": "duckdb", "postgresql": "postgres", "postgres": "postgres", "bigquery": "bigquery",
    "snowflake": "snowflake", "trino": "trino", "presto": "presto", "databricks": "databricks",
    "spark": "spark", "sc": "spark", "sparksql": "spark", "hive": "hive", "mysql": "mysql", "mariadb": "mysql",
    "sqlite": "sqlite", "mssql": "tsql", "redshift": "redshift", "clickhouse": "clickhouse",
    "oracle": "oracle", "athena": "athena", "teradata": "teradata",
}


class DialectError(ValueError):
    """A dialect sqlglot does not know, or a URL whose dialect cannot be told; ``key`` is the
    ``[warehouse]`` key to fix."""

    def __init__(self, message: str, key: str = "dialect") -> None:
        super().__init__(message)
        self.key = key


def backend(url: str) -> str:
    """The backend part of a SQLAlchemy URL: ``postgresql`` for ``postgresql+psycopg://…``."""
    return url.split("://", 1)[0].split("+", 1)[0].lower()


def dialect_for_url(url: str) -> str:
    """sqlglot's dialect for a SQLAlchemy URL; raise :class:`DialectError` when it cannot be told."""
    name = backend(url)
    if name not in _BACKENDS:
        raise DialectError(f"cannot tell the SQL dialect of a {name!r} URL; set warehouse.dialect "
                           "(a sqlglot dialect such as 'postgres', 'bigquery' or 'snowflake')", key="url")
    return _BACKENDS[name]


def known_dialect(name: str, key: str = "dialect") -> str:
    """``name`` when sqlglot knows the dialect; else raise :class:`DialectError` (naming ``key``) listing some."""
    from sqlglot.dialects.dialect import Dialect

    try:
        Dialect.get_or_raise(name)
    except ValueError:
        raise DialectError(f"unknown SQL dialect {name!r}: expected a sqlglot dialect such as duckdb, postgres, "
                           "bigquery, snowflake, trino or spark", key=key) from None
    return name
