"""Alembic migrations of the receiver's database schema."""
