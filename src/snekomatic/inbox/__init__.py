"""The durable webhook inbox: store each delivery, answer 2xx, then let workers process and retry it."""

from snekomatic.inbox._ingest import GroupCommitIngest as GroupCommitIngest
from snekomatic.inbox._ingest import InboxUnavailable as InboxUnavailable
from snekomatic.inbox._notify import relay_new_deliveries as relay_new_deliveries
from snekomatic.inbox._owners import ProcessIdentity as ProcessIdentity
from snekomatic.inbox._owners import reap_dead_owners as reap_dead_owners
from snekomatic.inbox._pipeline import Inbox as Inbox
from snekomatic.inbox._pipeline import delivery_processor as delivery_processor
from snekomatic.inbox._queue import DatabaseClock as DatabaseClock
from snekomatic.inbox._queue import StoreQueue as StoreQueue
from snekomatic.inbox._redelivery import RedeliveryCandidate as RedeliveryCandidate
from snekomatic.inbox._sweep import SweepReport as SweepReport
from snekomatic.inbox._sweep import sweep_failed_deliveries as sweep_failed_deliveries
from snekomatic.inbox._sweep import sweep_periodically as sweep_periodically
from snekomatic.inbox._workers import DeliveryQueue as DeliveryQueue
from snekomatic.inbox._workers import Doorbell as Doorbell
from snekomatic.inbox._workers import WorkerPolicy as WorkerPolicy
from snekomatic.inbox._workers import Workers as Workers
from snekomatic.inbox._workers import describe_error as describe_error

__all__ = [
    "DatabaseClock",
    "DeliveryQueue",
    "Doorbell",
    "GroupCommitIngest",
    "Inbox",
    "InboxUnavailable",
    "ProcessIdentity",
    "RedeliveryCandidate",
    "StoreQueue",
    "SweepReport",
    "WorkerPolicy",
    "Workers",
    "delivery_processor",
    "describe_error",
    "reap_dead_owners",
    "relay_new_deliveries",
    "sweep_failed_deliveries",
    "sweep_periodically",
]
