"""Persistence: tables, engine, migrations, repositories."""
