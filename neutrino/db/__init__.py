"""The database: SQLAlchemy models, Alembic migrations, engines and transactions."""
