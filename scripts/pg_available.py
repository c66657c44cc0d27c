"""Exit 0 when the PostgreSQL server in CALLREC_TEST_PG_URL answers, 1 otherwise."""

import os
import sys

from sqlalchemy import create_engine, text

url = os.environ.get("CALLREC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
try:
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
except Exception as exc:  # any failure means "not available"; the Makefile says what follows
    print(f"PostgreSQL check failed: {exc.__class__.__name__}: {exc}", file=sys.stderr)
    sys.exit(1)
