"""Alembic migrations of the service database (run by :func:`paretext.service.migrate`)."""
