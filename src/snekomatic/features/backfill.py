"""Backfill: invite the contributors whose merge the bot missed (it was down, or installed later).

Walks the repositories the app's installation on an organization sees and their merged pull requests
(``merged_at`` at or after ``since``), and puts each author through the rules and the
:func:`~snekomatic.features.invite.advance_invitation` of the ``pull_request.closed`` handler: bots
skipped, ``.github/snekomatic.yml`` applied (with ``FeatureOptions.org_config``) to an invitation not
yet recorded, members recorded as members; the store makes each invitation and welcome comment happen
once, whichever of the webhook and the backfill comes first. An author is handled with their *oldest*
merged pull request in a repository (the welcome goes there), and once per run: the comment lands on
their oldest merged pull request in the first repository walked (GitHub's order) that has one.

Resuming: a run is recorded (effect kind :data:`RUN_KIND`, key ``"{org_id}"``) as ``running`` until
every repository is walked, then ``finished``. Each repository has a checkpoint (kind
:data:`CHECKPOINT_KIND`, key ``"{org_id}:{repo_id}"``, data: the run, and the ``merged_at`` and number
of the last pull request handled), ``done`` once walked. A run started while an earlier one with the same
``since`` is still ``running`` carries it on: its ``done`` repositories are not listed again and, in one
left half-way, the authors already handled are skipped. Otherwise (the earlier run finished, another
``since``, or ``restart``) a new run walks everything again; invitations stay exactly-once.

Dry run: reads only (the membership of an author not handled yet tells "would invite" from "member");
records nothing, not even checkpoints. Pull requests are listed with ``GET .../pulls?state=closed``,
all of them (the fake does not sort by ``updated``, so there is no early stop).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

import structlog

from snekomatic.features import _invite_rules as rules
from snekomatic.features._backfill_types import (
    BackfillError,
    BackfillOrg,
    BackfillPlan,
    BackfillSummary,
    Outcome,
    Progress,
    Repository,
)
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
from snekomatic.gh.app import GitHubApp
from snekomatic.gh.client import GitHubClient
from snekomatic.gh.errors import Forbidden, NotFound
from snekomatic.store import run_sync

__all__ = [
    "CHECKPOINT_KIND",
    "RUN_KIND",
    "BackfillError",
    "BackfillOrg",
    "BackfillPlan",
    "BackfillRun",
    "BackfillSummary",
    "Outcome",
    "Progress",
    "Repository",
    "backfill",
    "begin_backfill",
    "find_organization",
    "list_repositories",
]

#: Effect kind of the per-repository checkpoints.
CHECKPOINT_KIND: Final = "backfill"
#: Effect kind of the record of the organization's latest run.
RUN_KIND: Final = "backfill.run"
INSTALLATION_URL: Final = "/orgs/{org}/installation"
REPOSITORIES_URL: Final = "/installation/repositories{?per_page}"
PULLS_URL: Final = "/repos/{owner}/{repo}/pulls{?state,sort,direction,per_page}"
_WALKING: Final = "walking"
_DONE: Final = "done"
_RUNNING: Final = "running"
_FINISHED: Final = "finished"

log = structlog.get_logger("snekomatic.backfill")


async def find_organization(app: GitHubApp, org: str) -> BackfillOrg:
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


async def begin_backfill(
    app: GitHubApp,
    store: InvitationStore,
    org: str,
    *,
    plan: BackfillPlan,
    clock: Callable[[], dt.datetime],
    summary: BackfillSummary | None = None,
) -> BackfillRun:
    """Find the installation on ``org``, carry on its unfinished run or record a new one, and list
    the repositories; walk them with :meth:`BackfillRun.walk`, then call :meth:`BackfillRun.finish`.
    ``clock`` gives the time stamped on the store's rows: the clock the deferred-invitation sweep
    reads them by (the database's, :class:`snekomatic.inbox.DatabaseClock`).

    Raises :class:`BackfillError` (not installed, not an organization), and GitHub, store or
    transport errors. A checkpoint.
    """
    target = await find_organization(app, org)
    client = app.client_for(target.installation_id)
    since = None if plan.since is None else plan.since.isoformat()
    previous = await run_sync(store.get_effect, RUN_KIND, str(target.org_id))
    data = previous.data if previous is not None else None
    if (
        not plan.restart
        and previous is not None
        and previous.state == _RUNNING
        and isinstance(data, Mapping)
        and data.get("since") == since
        and isinstance(data.get("run"), str)
    ):
        run_id = str(data["run"])
        log.info("backfill: carrying on the unfinished run", org=target.org_login)
    else:
        run_id = uuid.uuid4().hex
        if not plan.dry_run:
            now = clock()
            record = {"run": run_id, "since": since}
            key = str(target.org_id)
            await run_sync(store.record_effect, RUN_KIND, key, state=_RUNNING, data=record, now=now)
    return BackfillRun(
        client=client,
        store=store,
        org=target,
        plan=plan,
        run_id=run_id,
        repositories=await list_repositories(client, target),
        clock=clock,
        summary=summary if summary is not None else BackfillSummary(),
        org_config=OrgConfigSource() if plan.options.org_config else None,
    )


async def backfill(
    app: GitHubApp,
    store: InvitationStore,
    org: str,
    *,
    plan: BackfillPlan,
    clock: Callable[[], dt.datetime],
    on_progress: Callable[[Progress], None] | None = None,
) -> BackfillSummary:
    """Backfill every repository of ``org`` (see the module docstring); return the summary.

    Raises :class:`BackfillError` (not installed, not an organization), :class:`MissingPermission`,
    and GitHub, store or transport errors: the run stops at the first, and running it again carries
    it on. A checkpoint; cancelled: like an error, every finished step is recorded.
    ``on_progress`` is called after each author (it may cancel the run).
    """
    run = await begin_backfill(app, store, org, plan=plan, clock=clock)
    for repository in run.repositories:
        await run.walk(repository, on_progress=on_progress)
    await run.finish()
    return run.summary


@dataclass(kw_only=True)
class BackfillRun:
    """One backfill of an organization (made by :func:`begin_backfill`); ``summary`` grows as it goes."""

    client: GitHubClient  # the installation's
    store: InvitationStore
    org: BackfillOrg
    plan: BackfillPlan
    run_id: str
    repositories: list[Repository]
    clock: Callable[[], dt.datetime]
    summary: BackfillSummary = field(default_factory=BackfillSummary)
    org_config: OrgConfigSource | None = None

    def now(self) -> dt.datetime:
        """The time (from ``clock``) for the store's timestamps."""
        return self.clock()

    async def walk(
        self, repository: Repository, *, on_progress: Callable[[Progress], None] | None = None
    ) -> None:
        """Backfill one repository (see the module docstring), adding to :attr:`summary`.

        Raises as :func:`backfill` does. A checkpoint; ``on_progress`` is called after each author.
        """
        key = f"{self.org.org_id}:{repository.id}"
        checkpoint = await run_sync(self.store.get_effect, CHECKPOINT_KIND, key)
        through: tuple[dt.datetime, int] | None = None
        data = checkpoint.data if checkpoint is not None else None
        if checkpoint is not None and isinstance(data, Mapping) and data.get("run") == self.run_id:
            if checkpoint.state == _DONE:
                self.summary.repositories_done_before += 1
                return
            through = _position(data.get("through"))
        self.summary.repositories += 1
        merged = await _merged_pulls(self.client, repository, self.plan.since)
        self.summary.pull_requests += len(merged)
        firsts: dict[int, tuple[dt.datetime, dict[str, Any]]] = {}
        for merged_at, pr in merged:
            user = pr.get("user") or {}
            if isinstance(user.get("id"), int):
                firsts.setdefault(user["id"], (merged_at, pr))
        progress: dict[str, Any] = {
            "run": self.run_id,
            "through": None if through is None else [through[0].isoformat(), through[1]],
        }
        for user_id, (merged_at, pr) in firsts.items():
            position = (merged_at, int(pr.get("number", 0)))
            if (through is not None and position <= through) or self.summary.decided(user_id):
                continue
            outcome = await _handle_author(self, repository, pr)
            login = str(pr["user"].get("login"))
            self.summary.note(user_id, login, outcome)
            if not self.plan.dry_run:
                progress["through"] = [merged_at.isoformat(), position[1]]
                await self._record(CHECKPOINT_KIND, key, _WALKING, progress)
            if on_progress is not None:
                url = str(pr.get("html_url"))
                on_progress(
                    Progress(repository=repository, login=login, outcome=outcome, pr_html_url=url)
                )
        if not self.plan.dry_run:
            await self._record(CHECKPOINT_KIND, key, _DONE, progress)

    async def finish(self) -> None:
        """Record the run ``finished`` (the next run walks everything again). A checkpoint."""
        if not self.plan.dry_run:
            since = None if self.plan.since is None else self.plan.since.isoformat()
            data = {"run": self.run_id, "since": since}
            await self._record(RUN_KIND, str(self.org.org_id), _FINISHED, data)

    async def _record(self, kind: str, key: str, state: str, data: dict[str, Any]) -> None:
        now = self.now()
        await run_sync(self.store.record_effect, kind, key, state=state, data=dict(data), now=now)


async def _handle_author(
    run: BackfillRun, repository: Repository, pr: Mapping[str, Any]
) -> Outcome:
    client, store, org, plan = run.client, run.store, run.org, run.plan
    payload = {
        "pull_request": pr,
        "organization": {"id": org.org_id, "login": org.org_login},
        "repository": {"full_name": repository.full_name},
    }
    found = rules.read_merged_pull_request(payload)
    if isinstance(found, rules.Skip):
        log.info("backfill: author skipped", reason=found.reason, pr=pr.get("html_url"))
        return Outcome.SKIPPED_BOT if found.reason == "bot-author" else Outcome.SKIPPED_CONFIG
    target = InvitationTarget.from_merged_pull_request(found, installation_id=org.installation_id)
    existing = await run_sync(store.get_invitation, found.org_id, found.user_id)
    if existing is not None and existing.state in rules.FINAL_STATES:
        return Outcome.MEMBER if existing.state == rules.MEMBER else Outcome.ALREADY_INVITED
    if existing is None and run.org_config is not None:
        config = await run.org_config.config_for(
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
    now = run.now()
    state = await advance_invitation(
        client, store, target, claimant=f"backfill:{run.run_id}", options=plan.options, now=now
    )
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
