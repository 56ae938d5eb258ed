"""Backfill: invite the contributors whose merge the bot missed (it was down, or installed later).

Walks the repositories the app's installation on an organization can see, and in each its merged pull
requests (``merged_at`` at or after ``since``), and puts every author through the same rules and the
same :func:`~snekomatic.features.invite.advance_invitation` as the ``pull_request.closed`` handler:
bots are skipped, the organization's ``.github/snekomatic.yml`` (with ``FeatureOptions.org_config``)
is applied to an invitation not yet recorded, members are recorded as members, and the store makes each
invitation and welcome comment happen exactly once, whichever of the webhook and the backfill gets there
first. An author is handled once per repository, with their *oldest* merged pull request in it (the
welcome comment goes there); an author met again in a later repository is not handled again in the
same run. So the comment lands on their oldest merged pull request in the first repository walked
(GitHub's listing order) that has one.

Resuming: after each author, the repository's checkpoint (effect kind :data:`CHECKPOINT_KIND`, key
``"{org_id}:{repo_id}"``) records the ``merged_at`` and number of the pull request handled, and the run's
``since``; once the repository is finished it is recorded ``done``. A later run with a ``since`` the
checkpoint covers (the same, later, or the checkpoint has none) skips a ``done`` repository without
listing its pull requests, and skips the authors already handled in one left half-way. ``restart``
ignores checkpoints (invitations stay exactly-once: they are in the store).

Dry run: reads only (the membership of each author not yet handled tells "would invite" from "member")
and records nothing, not even checkpoints.

The pull requests are listed with ``GET /repos/{owner}/{repo}/pulls?state=closed``; all of a repository's
closed pull requests are read (the fake does not order them by ``updated``, so no early stop on it).
"""

from __future__ import annotations

import datetime as dt
import enum
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

import structlog

from snekomatic.features import _invite_rules as rules
from snekomatic.features._errors import MissingPermission
from snekomatic.features._invite_config import admit_invitation
from snekomatic.features._invite_target import InvitationTarget
from snekomatic.features.invite import (
    MEMBERS_PERMISSION,
    MEMBERSHIP_URL,
    InvitationStore,
    advance_invitation,
)
from snekomatic.features.orgconfig_source import OrgConfigSource
from snekomatic.features.welcome import FeatureOptions
from snekomatic.gh.app import GithubApp
from snekomatic.gh.client import GitHubClient
from snekomatic.gh.errors import Forbidden, NotFound
from snekomatic.store import run_sync

__all__ = [
    "CHECKPOINT_KIND",
    "BackfillError",
    "BackfillOrg",
    "BackfillPlan",
    "BackfillSummary",
    "Outcome",
    "Progress",
    "Repository",
    "backfill",
    "backfill_repository",
    "find_organization",
    "list_repositories",
]

#: Effect kind of the per-repository checkpoints.
CHECKPOINT_KIND: Final = "backfill"
INSTALLATION_URL: Final = "/orgs/{org}/installation"
REPOSITORIES_URL: Final = "/installation/repositories{?per_page}"
PULLS_URL: Final = "/repos/{owner}/{repo}/pulls{?state,sort,direction,per_page}"
_WALKING: Final = "walking"
_DONE: Final = "done"

log = structlog.get_logger("snekomatic.backfill")


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


async def find_organization(app: GithubApp, org: str) -> BackfillOrg:
    """The app's installation on ``org`` (``GET /orgs/{org}/installation``, as the app).

    Raises :class:`BackfillError` when the app is not installed there or ``org`` is a user account,
    and the client's ``GitHubError`` otherwise. A checkpoint.
    """
    try:
        installation = await app.app_client.getitem(INSTALLATION_URL, {"org": org})
    except NotFound:
        raise BackfillError(f"the app is not installed on the organization {org!r}") from None
    account = installation.get("account") or {}
    if installation.get("target_type", account.get("type")) != "Organization":
        raise BackfillError(f"{org!r} is not an organization: there is nobody to invite into it")
    return BackfillOrg(
        org_id=int(account["id"]),
        org_login=str(account["login"]),
        installation_id=int(installation["id"]),
    )


async def list_repositories(client: GitHubClient, org: BackfillOrg) -> list[Repository]:
    """The organization's repositories the installation sees, in GitHub's order. A checkpoint."""
    found: list[Repository] = []
    async for repo in client.getiter(
        REPOSITORIES_URL, {"per_page": 100}, iterable_key="repositories"
    ):
        owner = repo.get("owner") or {}
        if str(owner.get("login", "")).lower() == org.org_login.lower():
            found.append(Repository(id=int(repo["id"]), full_name=str(repo["full_name"])))
    return found


async def backfill(
    app: GithubApp,
    store: InvitationStore,
    org: str,
    *,
    plan: BackfillPlan,
    clock: Callable[[], float] = time.time,
    on_progress: Callable[[Progress], None] | None = None,
) -> BackfillSummary:
    """Backfill every repository of ``org`` (see the module docstring); return the summary.

    Raises :class:`BackfillError` (not installed, not an organization), :class:`MissingPermission`,
    and GitHub, store or transport errors: the run stops at the first, and running it again resumes
    from the checkpoints. A checkpoint; cancelled: like an error, every finished step is recorded.
    ``on_progress`` is called after each author (it may cancel the run).
    """
    target = await find_organization(app, org)
    client = app.client_for(target.installation_id)
    summary = BackfillSummary()
    org_config = OrgConfigSource() if plan.options.org_config else None
    for repository in await list_repositories(client, target):
        await backfill_repository(
            client,
            store,
            target,
            repository,
            plan=plan,
            summary=summary,
            clock=clock,
            org_config=org_config,
            on_progress=on_progress,
        )
    return summary


def _parse_time(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _position(value: object) -> tuple[dt.datetime, int] | None:
    """A checkpoint's ``through``: the (merged_at, number) of the last pull request handled."""
    if not isinstance(value, list) or len(value) != 2 or not isinstance(value[1], int):
        return None
    merged_at = _parse_time(value[0])
    return None if merged_at is None else (merged_at, value[1])


def _covers(recorded_since: object, since: dt.datetime | None) -> bool:
    """Whether a checkpoint made with ``recorded_since`` covers a run from ``since``."""
    if recorded_since is None:
        return True
    recorded = _parse_time(recorded_since)
    return since is not None and recorded is not None and recorded <= since


async def _merged_pulls(
    client: GitHubClient, repository: Repository, since: dt.datetime | None
) -> list[tuple[dt.datetime, dict[str, Any]]]:
    owner, name = repository.full_name.split("/", 1)
    url_vars = {
        "owner": owner,
        "repo": name,
        "state": "closed",
        "sort": "updated",
        "direction": "desc",
        "per_page": 100,
    }
    merged: list[tuple[dt.datetime, dict[str, Any]]] = []
    async for pr in client.getiter(PULLS_URL, url_vars):
        merged_at = _parse_time(pr.get("merged_at"))
        if merged_at is not None and (since is None or merged_at >= since):
            merged.append((merged_at, {**pr, "merged": True}))
    merged.sort(key=lambda pair: (pair[0], pair[1].get("number", 0)))
    return merged


async def backfill_repository(
    client: GitHubClient,
    store: InvitationStore,
    org: BackfillOrg,
    repository: Repository,
    *,
    plan: BackfillPlan,
    summary: BackfillSummary,
    clock: Callable[[], float] = time.time,
    org_config: OrgConfigSource | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> None:
    """Backfill one repository (see the module docstring), adding to ``summary``.

    ``client`` is the installation's. Raises as :func:`backfill` does. A checkpoint.
    """
    key = f"{org.org_id}:{repository.id}"
    since = plan.since
    checkpoint = None if plan.restart else await run_sync(store.get_effect, CHECKPOINT_KIND, key)
    through: tuple[dt.datetime, int] | None = None
    if checkpoint is not None and isinstance(checkpoint.data, Mapping):
        if _covers(checkpoint.data.get("since"), since):
            if checkpoint.state == _DONE:
                summary.repositories_done_before += 1
                log.info("backfill: repository done before", repository=repository.full_name)
                return
            through = _position(checkpoint.data.get("through"))
    summary.repositories += 1
    merged = await _merged_pulls(client, repository, since)
    summary.pull_requests += len(merged)
    firsts: dict[int, tuple[dt.datetime, dict[str, Any]]] = {}
    for merged_at, pr in merged:
        user = pr.get("user") or {}
        if isinstance(user.get("id"), int):
            firsts.setdefault(user["id"], (merged_at, pr))
    checkpoint_data: dict[str, Any] = {
        "since": None if since is None else since.isoformat(),
        "through": None if through is None else [through[0].isoformat(), through[1]],
    }
    for user_id, (merged_at, pr) in firsts.items():
        position = (merged_at, int(pr.get("number", 0)))
        if (through is not None and position <= through) or summary.decided(user_id):
            continue
        outcome = await _handle_author(client, store, org, repository, pr, plan, clock, org_config)
        login = str(pr["user"].get("login"))
        summary.note(user_id, login, outcome)
        if not plan.dry_run:
            checkpoint_data["through"] = [merged_at.isoformat(), position[1]]
            await _record_checkpoint(store, key, _WALKING, checkpoint_data, clock)
        if on_progress is not None:
            on_progress(
                Progress(
                    repository=repository,
                    login=login,
                    outcome=outcome,
                    pr_html_url=str(pr.get("html_url")),
                )
            )
    if not plan.dry_run:
        await _record_checkpoint(store, key, _DONE, checkpoint_data, clock)


async def _record_checkpoint(
    store: InvitationStore, key: str, state: str, data: dict[str, Any], clock: Callable[[], float]
) -> None:
    now = dt.datetime.fromtimestamp(clock(), dt.UTC)
    await run_sync(store.record_effect, CHECKPOINT_KIND, key, state=state, data=dict(data), now=now)


async def _handle_author(
    client: GitHubClient,
    store: InvitationStore,
    org: BackfillOrg,
    repository: Repository,
    pr: Mapping[str, Any],
    plan: BackfillPlan,
    clock: Callable[[], float],
    org_config: OrgConfigSource | None,
) -> Outcome:
    payload = {
        "pull_request": pr,
        "organization": {"id": org.org_id, "login": org.org_login},
        "repository": {"full_name": repository.full_name},
    }
    found = rules.read_merged_pull_request(payload)
    if isinstance(found, rules.Skip):
        log.info("backfill: author skipped", reason=found.reason, pr=pr.get("html_url"))
        return Outcome.SKIPPED_BOT if found.reason == "bot-author" else Outcome.SKIPPED_CONFIG
    target = InvitationTarget(
        org_id=found.org_id,
        org_login=found.org_login,
        user_id=found.user_id,
        user_login=found.user_login,
        installation_id=org.installation_id,
        repository=found.repository,
        number=found.number,
        pr_html_url=found.pr_html_url,
    )
    existing = await run_sync(store.get_invitation, found.org_id, found.user_id)
    if existing is not None and existing.state in rules.FINAL_STATES:
        return Outcome.MEMBER if existing.state == rules.MEMBER else Outcome.ALREADY_INVITED
    if existing is None and org_config is not None:
        config = await org_config.config_for(
            client, installation_id=org.installation_id, repository=found.repository
        )
        admission = await admit_invitation(client, config.invite, found)
        if admission is None:
            return Outcome.SKIPPED_CONFIG
        target = replace(
            target, welcome_template=admission.welcome_template, team_id=admission.team_id
        )
    if plan.dry_run:
        return await _would_invite(client, target)
    now = dt.datetime.fromtimestamp(clock(), dt.UTC)
    state = await advance_invitation(client, store, target, options=plan.options, now=now)
    return {
        rules.COMMENTED: Outcome.INVITED,
        rules.MEMBER: Outcome.MEMBER,
        rules.DEFERRED: Outcome.DEFERRED,
    }.get(state or "", Outcome.BUSY)


async def _would_invite(client: GitHubClient, target: InvitationTarget) -> Outcome:
    """Dry run: whether ``target``'s author is a member already (a read; nothing is written)."""
    try:
        await client.getitem(
            MEMBERSHIP_URL, {"org": target.org_login, "username": target.user_login}
        )
    except NotFound:
        return Outcome.WOULD_INVITE
    except Forbidden as exc:
        raise MissingPermission(
            permission=MEMBERS_PERMISSION,
            endpoint="GET " + MEMBERSHIP_URL,
            account=target.org_login,
        ) from exc
    return Outcome.MEMBER
