"""The backfill's values: what it is asked to do, where, and what became of each author."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Final

from snekomatic.features.welcome import FeatureOptions

__all__ = [
    "BackfillError",
    "BackfillOrg",
    "BackfillPlan",
    "BackfillSummary",
    "Outcome",
    "Progress",
    "Repository",
]


class BackfillError(Exception):
    """The backfill cannot start: the app is not installed on the account, or it is not an organization."""


class Outcome(enum.Enum):
    """What became of one author in this run."""

    INVITED = "invited"  # invited and welcomed by this run
    WOULD_INVITE = "would invite"  # dry run: not a member, not handled yet
    MEMBER = "already a member"
    ALREADY_INVITED = "invited before"  # by the webhook or an earlier run
    SKIPPED_BOT = "skipped: bot"
    SKIPPED_CONFIG = "skipped: configuration"  # disabled, excluded, too few merges, config dry run
    DEFERRED = "deferred"  # over the invitation rate limit: the bot's deferred sweep resumes it
    BUSY = "in progress elsewhere"  # another task holds the invitation


_SKIPS: Final = frozenset({Outcome.SKIPPED_BOT, Outcome.SKIPPED_CONFIG})


@dataclass(frozen=True, kw_only=True)
class BackfillOrg:
    """The organization and the installation the backfill works through."""

    org_id: int
    org_login: str
    installation_id: int


@dataclass(frozen=True, kw_only=True)
class Repository:
    id: int
    full_name: str  # "owner/name"


@dataclass(frozen=True, kw_only=True)
class BackfillPlan:
    """How to backfill: merges at or after ``since`` (None: all), dry run, ignore checkpoints."""

    since: dt.datetime | None = None
    dry_run: bool = False
    restart: bool = False
    options: FeatureOptions = field(default_factory=FeatureOptions)


@dataclass(frozen=True, kw_only=True)
class Progress:
    """One author handled (``repository`` is the one being walked)."""

    repository: Repository
    login: str
    outcome: Outcome
    pr_html_url: str


@dataclass
class BackfillSummary:
    """What a run did. Each person counts once, under the first outcome that is not a skip."""

    repositories: int = 0  # walked: their pull requests listed
    repositories_done_before: int = 0  # skipped: finished by an earlier run
    pull_requests: int = 0  # merged pull requests seen in the window
    people: dict[int, tuple[str, Outcome]] = field(default_factory=dict)

    def logins(self, outcome: Outcome) -> list[str]:
        """The logins with ``outcome``, in the order they were handled."""
        return [login for login, got in self.people.values() if got is outcome]

    def count(self, outcome: Outcome) -> int:
        return len(self.logins(outcome))

    def decided(self, user_id: int) -> bool:
        """Whether ``user_id`` has an outcome other than a skip in this run."""
        known = self.people.get(user_id)
        return known is not None and known[1] not in _SKIPS

    def note(self, user_id: int, login: str, outcome: Outcome) -> None:
        """Record ``outcome`` for ``user_id`` unless it already has one that is not a skip."""
        if not self.decided(user_id):
            self.people[user_id] = (login, outcome)
