"""Operating a bot: replaying deliveries, and what ``snekomatic status`` reads and shows.

Three kinds of code live here, each usable without the command line:

- pure: :func:`parse_recorded_delivery` (a payload file as copied from GitHub) and the formatting of
  the status report (:func:`format_table`, :func:`format_store_status`, :func:`format_installations`),
  which take ``now`` and a width and return lines;
- the store, synchronous like the store itself: :func:`find_delivery`, :func:`requeue_delivery`,
  :func:`read_store_status`;
- async: :func:`run_delivery_now` (claim one stored delivery and process it in this process) and
  :func:`read_installation_states` (GitHub's view of each installation's rate limit).

Nothing here prints, reads the environment or shows a secret: tokens, keys and the webhook secret
never reach a return value.
"""

from __future__ import annotations

from snekomatic.operate._replay import EPOCH as EPOCH
from snekomatic.operate._replay import AmbiguousDelivery as AmbiguousDelivery
from snekomatic.operate._replay import NowOutcome as NowOutcome
from snekomatic.operate._replay import RecordedDelivery as RecordedDelivery
from snekomatic.operate._replay import RecordingError as RecordingError
from snekomatic.operate._replay import Requeue as Requeue
from snekomatic.operate._replay import UnknownDelivery as UnknownDelivery
from snekomatic.operate._replay import find_delivery as find_delivery
from snekomatic.operate._replay import parse_recorded_delivery as parse_recorded_delivery
from snekomatic.operate._replay import requeue_delivery as requeue_delivery
from snekomatic.operate._replay import run_delivery_now as run_delivery_now
from snekomatic.operate._status import InstallationState as InstallationState
from snekomatic.operate._status import StoreStatus as StoreStatus
from snekomatic.operate._status import format_duration as format_duration
from snekomatic.operate._status import format_installations as format_installations
from snekomatic.operate._status import format_store_status as format_store_status
from snekomatic.operate._status import format_table as format_table
from snekomatic.operate._status import read_installation_states as read_installation_states
from snekomatic.operate._status import read_store_status as read_store_status
from snekomatic.operate._status import truncate as truncate

__all__ = [
    "EPOCH",
    "AmbiguousDelivery",
    "InstallationState",
    "NowOutcome",
    "RecordedDelivery",
    "RecordingError",
    "Requeue",
    "StoreStatus",
    "UnknownDelivery",
    "find_delivery",
    "format_duration",
    "format_installations",
    "format_store_status",
    "format_table",
    "parse_recorded_delivery",
    "read_installation_states",
    "read_store_status",
    "requeue_delivery",
    "run_delivery_now",
    "truncate",
]
