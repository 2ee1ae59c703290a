"""The database: SQLite by default (one process), PostgreSQL for several workers, one code path.

Each module holds one job; import names from the module that defines them.

- :mod:`storage.sql.engine`: the URL, the engine's settings (SQLite's pragmas, timeouts), database
  failures as :class:`storage.base.StoreUnavailable`, and SQLite's WAL emptied after a deletion.
- :mod:`storage.sql.store`: :class:`~storage.sql.store.SqlStore`, the
  :class:`storage.base.ConversationStore` over the database, and its three transaction paths.
- :mod:`storage.sql.statements`: the per-update transaction's statements, per dialect, in order.
- :mod:`storage.sql.rows`: what a row may hold (codes only), checked before every write.
- :mod:`storage.sql.counters`: the anonymous counters, added to and read.
- :mod:`storage.sql.schema`: :func:`~storage.sql.schema.migrate` (Alembic, scripts in
  ``storage/migrations``), one process at a time.
- :mod:`storage.sql.backup`: :func:`~storage.sql.backup.backup` while the bot runs.

PostgreSQL's per-update transaction on the event loop is :mod:`storage.pg_async`.
"""
