"""The durable webhook inbox: store each delivery, answer 2xx, then let workers process and retry it."""

from snekomatic.inbox._ingest import GroupCommitIngest as GroupCommitIngest
from snekomatic.inbox._ingest import InboxUnavailable as InboxUnavailable

__all__ = ["GroupCommitIngest", "InboxUnavailable"]
