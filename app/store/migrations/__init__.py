"""The store's schema history as Alembic revisions (versions/), applied by app.store.migrate."""
