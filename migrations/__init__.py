"""Alembic migrations; ``jamkesda db upgrade`` applies them."""
