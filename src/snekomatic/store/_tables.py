"""The tables, as SQLAlchemy Core metadata. The migrations in ``migrations/versions`` must build exactly
this (``check_schema`` compares them at start-up).

No table holds a token, a key, the webhook secret or a signature header.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)

from snekomatic.store._states import TRANSITIONS, DeliveryStatus

__all__ = [
    "deliveries",
    "effects",
    "invitations",
    "leader_leases",
    "metadata",
    "org_throttles",
    "redelivery_requests",
    "write_slots",
]

# Named constraints, so that migrations (and SQLite's batch mode, which rebuilds tables) can refer
# to them by name on every database.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A point in time, always timezone-aware UTC in Python.

    PostgreSQL stores ``timestamptz``. SQLite has no such type: it stores naive UTC text, which sorts
    and compares correctly because every value is UTC. Naive datetimes are refused (ValueError): the
    store cannot guess their zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("the store only accepts timezone-aware datetimes")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid); PostgreSQL gets a bigint identity.
BigIntegerId = BigInteger().with_variant(Integer(), "sqlite")

_STATUSES = ", ".join(f"'{status.value}'" for status in DeliveryStatus)
# The statuses a claim may take, as SQL with literal values: the claim query uses this very text, so
# that PostgreSQL can match the partial index below even for a prepared (generic) plan.
CLAIMABLE_SQL = "status IN ({})".format(
    ", ".join(f"'{status.value}'" for status in TRANSITIONS["claim"].sources)
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigIntegerId, primary_key=True, autoincrement=True),
    # GitHub's X-GitHub-Hook-ID; 0 when the request did not say (so the unique key still works).
    Column("hook_id", BigInteger, nullable=False),
    # X-GitHub-Delivery: a GUID, kept by GitHub when it redelivers.
    Column("delivery_id", Text, nullable=False),
    Column("event", Text, nullable=False),
    Column("action", Text, nullable=True),
    Column("installation_id", BigInteger, nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    # The raw body exactly as received: the signature was computed over these bytes.
    Column("body", LargeBinary, nullable=False),
    # An allow-listed subset of the request headers (see _delivery_rows.STORED_HEADERS).
    Column("headers", JSON, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    # When the row next becomes claimable: for a pending row, its (re)try time; for a leased row,
    # its lease expiry (kept equal to lease_expires_at), so that one ordered index finds both.
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_owner", Text, nullable=True),
    Column("lease_expires_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    UniqueConstraint("hook_id", "delivery_id"),
    CheckConstraint(f"status IN ({_STATUSES})", name="status"),
    # Claiming walks this in order and stops at the first due row nobody has locked; done and dead
    # rows (the bulk of the table, in time) are not in it.
    Index(
        "ix_deliveries_claimable",
        "next_attempt_at",
        "id",
        postgresql_where=text(CLAIMABLE_SQL),
        sqlite_where=text(CLAIMABLE_SQL),
    ),
)

invitations = Table(
    "invitations",
    metadata,
    Column("org_id", BigInteger, primary_key=True, autoincrement=False),
    Column("user_id", BigInteger, primary_key=True, autoincrement=False),
    Column("org_login", Text, nullable=False),
    Column("user_login", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("pr_url", Text, nullable=True),
    Column("invited_at", UTCDateTime, nullable=True),
    Column("commented_at", UTCDateTime, nullable=True),
    Column("comment_id", BigInteger, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("last_error", Text, nullable=True),
    # Who may act on it (a delivery, a backfill run, the deferred sweep) and until when: one task at a
    # time sends the invitation or the comment, however many deliveries name the same person.
    Column("claimed_by", Text, nullable=True),
    Column("claimed_until", UTCDateTime, nullable=True),
)

# Exactly-once steps of any feature, keyed by a natural key (say kind "thank-comment", key
# "<repo id>#<pr number>"): a handler records a step before or after acting and checks it first.
effects = Table(
    "effects",
    metadata,
    Column("kind", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("state", Text, nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Organizations whose invitations are paused (GitHub's invitation rate limit), until a time.
org_throttles = Table(
    "org_throttles",
    metadata,
    Column("org_id", BigInteger, primary_key=True, autoincrement=False),
    Column("until", UTCDateTime, nullable=False),
)

# Named leases that at most one process holds at a time (the redelivery sweep, for one).
leader_leases = Table(
    "leader_leases",
    metadata,
    Column("name", Text, primary_key=True),
    Column("owner", Text, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# Redeliveries asked of GitHub, so that each failed delivery is asked for once.
redelivery_requests = Table(
    "redelivery_requests",
    metadata,
    # The numeric id in GitHub's delivery log (not the GUID), as in /app/hook/deliveries/{id}/attempts.
    Column("github_delivery_id", BigInteger, primary_key=True, autoincrement=False),
    Column("guid", Text, nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
)

# GitHub's "at least one second between" writes is per installation, whichever process writes: the
# earliest moment each installation's next write may start, reserved by every process in turn.
write_slots = Table(
    "write_slots",
    metadata,
    Column("installation_id", BigInteger, primary_key=True, autoincrement=False),
    Column("next_write_at", UTCDateTime, nullable=False),
)
