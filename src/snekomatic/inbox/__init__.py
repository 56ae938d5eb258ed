"""The durable webhook inbox: store each delivery, answer 2xx, then let workers process and retry it."""

from snekomatic.inbox._ingest import GroupCommitIngest as GroupCommitIngest
from snekomatic.inbox._ingest import InboxUnavailable as InboxUnavailable
from snekomatic.inbox._owners import ProcessIdentity as ProcessIdentity
from snekomatic.inbox._owners import reap_dead_owners as reap_dead_owners
from snekomatic.inbox._pipeline import Inbox as Inbox
from snekomatic.inbox._pipeline import delivery_processor as delivery_processor
from snekomatic.inbox._queue import DatabaseClock as DatabaseClock
from snekomatic.inbox._workers import DeliveryQueue as DeliveryQueue
from snekomatic.inbox._workers import Doorbell as Doorbell
from snekomatic.inbox._workers import WorkerPolicy as WorkerPolicy
from snekomatic.inbox._workers import Workers as Workers

__all__ = [
    "DatabaseClock",
    "DeliveryQueue",
    "Doorbell",
    "GroupCommitIngest",
    "Inbox",
    "InboxUnavailable",
    "ProcessIdentity",
    "WorkerPolicy",
    "Workers",
    "delivery_processor",
    "reap_dead_owners",
]
