"""Shared fixtures: one test body on both backends (STYLE.md point 12).

PostgreSQL tests use ``SPOTCHECK_TEST_POSTGRES_URL`` (e.g.
``postgresql://postgres@127.0.0.1:5432/test``), each test in a schema of its
own.  Without the variable they are skipped — unless
``SPOTCHECK_REQUIRE_POSTGRES=1`` (set by ``.ci/run``), where a skipped or
unreachable PostgreSQL test fails the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_URL = os.environ.get("SPOTCHECK_TEST_POSTGRES_URL", "")
REQUIRE_PG = os.environ.get("SPOTCHECK_REQUIRE_POSTGRES") == "1"
VECTORS = Path(__file__).parent / "vectors"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "postgres" in item.keywords and not PG_URL:
            item.add_marker(pytest.mark.skip(reason="SPOTCHECK_TEST_POSTGRES_URL is not set"))


_pg_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "postgres" in report.keywords:
        _pg_skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if REQUIRE_PG and _pg_skipped:
        print(
            f"\nSPOTCHECK_REQUIRE_POSTGRES=1 but {len(_pg_skipped)} PostgreSQL tests "
            f"were skipped, e.g. {_pg_skipped[0]}"
        )
        session.exitstatus = 1


def new_pg_schema() -> str:
    """Create a fresh schema in the test database and return its name."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    return name


def drop_pg_schema(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store URL: an SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    schema = new_pg_schema()
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}schema={schema}"
    finally:
        drop_pg_schema(schema)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("SPOTCHECK_TEST_POSTGRES_URL is not set")
    schema = new_pg_schema()
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}schema={schema}"
    finally:
        drop_pg_schema(schema)
