"""Every exception :mod:`snekomatic.store` raises on purpose.

::

    StoreError              root; never raised itself
    ├── StoreUnavailable    the database cannot be reached, dropped the connection, or stayed locked
    │                       past the busy timeout: nothing was committed, the call may be retried
    └── SchemaDriftError    the live schema is not the one this code was written for; refuse to run

Other SQLAlchemy errors (a constraint the caller violated, a bug in a statement) propagate unchanged:
they are not worth retrying. Messages never contain the database URL (it may carry a password) nor
stored data (bodies, headers).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["SchemaDriftError", "StoreError", "StoreUnavailable"]


class StoreError(Exception):
    """Root of the store's exceptions; never raised itself."""


class StoreUnavailable(StoreError):
    """The database could not be used right now; the transaction did not commit.

    Raised ``from`` the driver's error. A web layer answers 503; a worker retries later. After a
    connection is lost the pool discards it, and the next call reconnects.
    """


class SchemaDriftError(StoreError):
    """The database schema differs from the code's tables, or is not at the newest migration.

    ``differences`` lists each difference in words; the message lists them too, one per line.
    """

    def __init__(self, summary: str, differences: Sequence[str] = ()) -> None:
        self.differences = tuple(differences)
        lines = [summary, *(f"  - {d}" for d in self.differences)]
        super().__init__("\n".join(lines))
