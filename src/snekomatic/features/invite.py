"""Invite a contributor to the organization after their first merged pull request, exactly once.

The decisions live in :mod:`snekomatic.features._invite_rules` (read its docstring for the states and
why each is recorded when it is); this module is the I/O around them: the store, GitHub, the log.

The invite flow calls only ``GET /orgs/{org}/memberships/{login}``, ``POST /orgs/{org}/invitations``
and ``GET``/``POST /repos/{owner}/{repo}/issues/{number}/comments`` (plus the installation token).
With the organization's configuration on (``FeatureOptions.org_config``), a new invitation first reads
``.github/snekomatic.yml`` (:mod:`snekomatic.features.orgconfig_source`) and, as configured, searches
the author's merged pull requests and looks the team up (:mod:`snekomatic.features._invite_config`).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final, Protocol

import structlog

from snekomatic.features import _invite_rules as rules
from snekomatic.features._comments import find_or_create_comment
from snekomatic.features._errors import MissingPermission
from snekomatic.features._invite_config import admit_invitation
from snekomatic.features._invite_target import InvitationTarget
from snekomatic.features.orgconfig_source import OrgConfigSource
from snekomatic.features.welcome import FeatureOptions, render_welcome
from snekomatic.gh.app import GitHubApp, HandlerContext
from snekomatic.gh.client import GitHubClient
from snekomatic.gh.errors import Forbidden, GitHubError, NotFound, ValidationFailed
from snekomatic.logs import note_decision
from snekomatic.store import Effect, Invitation, StoreError, run_sync

__all__ = [
    "CONTEXT_KIND",
    "MEMBERS_PERMISSION",
    "InvitationStore",
    "InvitationTarget",
    "advance_invitation",
    "handle_merged_pull_request",
    "send_deferred_invitations",
]

MEMBERSHIP_URL: Final = "/orgs/{org}/memberships/{username}"
INVITATIONS_URL: Final = "/orgs/{org}/invitations"
MEMBERS_PERMISSION: Final = "organization members: read & write"
#: Effect kind under which each invitation keeps what it needs to be resumed without its webhook.
CONTEXT_KIND: Final = "invite.context"
#: In-progress invitations untouched for this long are resumed by :func:`send_deferred_invitations`.
STALE_AFTER: Final = dt.timedelta(hours=1)
#: How long a task's claim on an invitation lasts; each step it records renews it. Longer than one
#: delivery attempt may run (the workers' 300 s deadline), so a live task does not lose it mid-step;
#: a claim left by a task that died is taken over by its own retry at once, by anyone else after this.
CLAIM_TTL: Final = dt.timedelta(minutes=10)
_SWEEP_LIMIT: Final = 10_000

log = structlog.get_logger("snekomatic.invite")


class InvitationStore(Protocol):
    """The store methods the invite feature uses (:class:`snekomatic.store.Store` has them all)."""

    def get_invitation(self, org_id: int, user_id: int) -> Invitation | None: ...
    def insert_invitation(
        self, invitation: Invitation, *, effect: tuple[str, str, Any] | None = None
    ) -> bool: ...
    def update_invitation(
        self, invitation: Invitation, *, expected_state: str, claimant: str | None = None
    ) -> bool: ...
    def claim_invitation(
        self, org_id: int, user_id: int, *, claimant: str, now: dt.datetime, until: dt.datetime
    ) -> Invitation | None: ...
    def list_invitations(
        self, org_id: int | None = None, *, limit: int = 100
    ) -> list[Invitation]: ...
    def record_effect(
        self, kind: str, key: str, *, state: str, data: Any, now: dt.datetime
    ) -> Effect | None: ...
    def get_effect(self, kind: str, key: str) -> Effect | None: ...
    def throttle_org(self, org_id: int, *, until: dt.datetime) -> None: ...
    def org_throttled_until(self, org_id: int, *, now: dt.datetime) -> dt.datetime | None: ...


async def handle_merged_pull_request(
    ctx: HandlerContext,
    *,
    store: InvitationStore,
    options: FeatureOptions,
    now: dt.datetime,
    org_config: OrgConfigSource | None = None,
) -> None:
    """The ``pull_request.closed`` handler: invite the author of a merged PR (see the module docstring).

    Skips (with a log line) unmerged PRs, bot authors and repositories owned by a user. With
    ``org_config``, an invitation not yet recorded starts only as ``.github/snekomatic.yml`` allows
    (:func:`~snekomatic.features._invite_config.admit_invitation`). Returns once
    the invitation reached a state it cannot leave on its own (member, commented, deferred) or another
    task owns it. Raises :class:`MissingPermission` (do not retry), and GitHub, store or transport
    errors (retry the delivery: every step is recorded, so a retry repeats no effect). A checkpoint.
    Cancelled: like a crash between two steps; the retry carries on from the recorded state.
    """
    found = rules.read_merged_pull_request(ctx.payload)
    if isinstance(found, rules.Skip):
        repository = ctx.payload.get("repository")
        full_name = repository.get("full_name") if isinstance(repository, Mapping) else None
        level = log.info if found.reason in ("no-organization", "malformed") else log.debug
        level("invite skipped", reason=found.reason, repository=full_name)
        note_decision("not invited", reason=found.reason.replace("-", " "))
        return
    if ctx.installation_id is None:
        log.warning("invite skipped", reason="no-installation", repository=found.repository)
        note_decision("not invited", reason="no installation")
        return
    target = InvitationTarget.from_merged_pull_request(found, installation_id=ctx.installation_id)
    if org_config is not None and (
        await run_sync(store.get_invitation, found.org_id, found.user_id) is None
    ):
        config = await org_config.config_for(
            ctx.client, installation_id=ctx.installation_id, repository=found.repository
        )
        admission = await admit_invitation(ctx.client, config.invite, found)
        if admission is None:
            note_decision("not invited", reason="not admitted by .github/snekomatic.yml")
            return
        target = replace(
            target, welcome_template=admission.welcome_template, team_id=admission.team_id
        )
    await advance_invitation(
        ctx.client,
        store,
        target,
        claimant=f"delivery:{ctx.event.delivery_id}",
        options=options,
        now=now,
    )


async def send_deferred_invitations(
    app: GitHubApp,
    store: InvitationStore,
    *,
    now: dt.datetime,
    options: FeatureOptions | None = None,
    stale_after: dt.timedelta = STALE_AFTER,
) -> int:
    """Resume invitations that no webhook will carry on: run this periodically (say every 10 min).

    Picks every ``deferred`` invitation whose organization is no longer paused at ``now``, and every
    ``checking``/``inviting``/``invited`` one untouched for ``stale_after`` (its delivery gave up, or
    an earlier run of this failed), and advances each with a client for the installation it was
    recorded with. Returns how many changed state. One failing invitation does not stop the others:
    their errors are raised together afterwards as an ``ExceptionGroup`` (``MissingPermission`` among
    them means an owner must act). A checkpoint; cancelled: like a crash between two steps.
    """
    options = options or FeatureOptions()
    rows = await run_sync(store.list_invitations, None, limit=_SWEEP_LIMIT)
    in_progress = {rules.CHECKING, rules.INVITING, rules.INVITED}
    due = [
        row
        for row in rows
        if row.state == rules.DEFERRED
        or (row.state in in_progress and row.updated_at <= now - stale_after)
    ]
    advanced = 0
    failures: list[Exception] = []
    claimant = f"deferred-sweep:{secrets.token_hex(4)}"
    for row in reversed(due):  # oldest first: the order they were deferred in
        effect = await run_sync(store.get_effect, CONTEXT_KIND, f"{row.org_id}:{row.user_id}")
        if effect is None or not isinstance(effect.data, Mapping):
            log.warning("invitation has no resume context", org=row.org_login, user=row.user_login)
            continue
        target = InvitationTarget.from_context(row.org_id, row.user_id, effect.data)
        try:
            final = await advance_invitation(
                app.client_for(target.installation_id),
                store,
                target,
                claimant=claimant,
                options=options,
                now=now,
            )
        except (GitHubError, MissingPermission, StoreError) as exc:
            log.error(
                "resuming invitation failed",
                org=row.org_login,
                user=row.user_login,
                error=type(exc).__name__,
            )
            failures.append(exc)
            continue
        advanced += final != row.state
    if failures:
        raise ExceptionGroup(f"{len(failures)} deferred invitation(s) failed", failures)
    return advanced


# Why no invitation went out, when GitHub refused it.
_REFUSED: Final = {
    rules.InvitationRefusal.ALREADY_MEMBER: "already a member",
    rules.InvitationRefusal.OVER_RATE_LIMIT: "over GitHub's invitation rate limit: paused",
}
# Why nothing is done for an invitation found in a final state.
_ALREADY: Final = {rules.MEMBER: "already a member", rules.COMMENTED: "already invited and welcomed"}


async def advance_invitation(
    client: GitHubClient,
    store: InvitationStore,
    target: InvitationTarget,
    *,
    claimant: str,
    options: FeatureOptions,
    now: dt.datetime,
) -> str | None:
    """Take the invitation of ``target`` as far as it goes; return the state it was left in.

    ``claimant`` names this work (``"delivery:<guid>"``, a backfill run, a sweep): before any step
    that calls GitHub it claims the invitation (:data:`CLAIM_TTL`), so that of several tasks for the
    same person, one alone sends the invitation and the comment, and the same work retried after a
    crash carries on at once. None: another task holds it (that one carries on). Raises as
    :func:`handle_merged_pull_request` does. A checkpoint.
    """
    bound = log.bind(org=target.org_login, user=target.user_login, pr=target.pr_html_url)
    invitation = await run_sync(store.get_invitation, target.org_id, target.user_id)
    claimed = False
    recorded_here = False  # whether this call recorded ``target`` (so it need not read it back)
    started_in = None if invitation is None else invitation.state
    while True:
        state = None if invitation is None else invitation.state
        if state in rules.FINAL_STATES:
            if state == started_in:  # this call found it done; what it did itself, it said
                note_decision("not invited", reason=_ALREADY[state])
            return state  # nothing is ever done again, paused or not: no need to ask
        paused_until = await run_sync(store.org_throttled_until, target.org_id, now=now)
        step = rules.next_step(state, throttled=paused_until is not None)
        if step is rules.Step.NOTHING:
            return state
        if invitation is None:
            invitation = await _insert(store, target, step, claimant, now)
            if invitation is None:
                bound.info("invitation already taken on by another task")
                note_decision("not invited here", reason="another task is inviting them")
                return None
            recorded_here = True
            if invitation.state == rules.DEFERRED:
                bound.info("invitation deferred", until=str(paused_until))
                note_decision("not invited yet", reason=f"organization paused until {paused_until}")
                return invitation.state
            claimed = True
            continue
        if not claimed:
            # Whoever wins the claim acts; the state it holds may be newer than the one read.
            invitation = await run_sync(
                store.claim_invitation,
                target.org_id,
                target.user_id,
                claimant=claimant,
                now=now,
                until=now + CLAIM_TTL,
            )
            if invitation is None:
                bound.info("invitation is being advanced by another task")
                note_decision("not invited here", reason="another task is inviting them")
                return None
            claimed = True
            continue
        if step is rules.Step.DEFER:
            invitation = await _move(store, invitation, rules.DEFERRED, claimant, now)
            bound.info("invitation deferred", until=str(paused_until))
            note_decision("not invited yet", reason=f"organization paused until {paused_until}")
        elif step is rules.Step.RESUME:
            invitation = await _move(store, invitation, rules.CHECKING, claimant, now)
        elif step is rules.Step.CHECK_MEMBERSHIP:
            invitation = await _check_membership(
                client,
                store,
                invitation,
                target,
                claimant,
                now,
                throttled=paused_until is not None,
                target_recorded=recorded_here,
            )
        elif step is rules.Step.COMMENT:
            invitation = await _comment(client, store, invitation, target, options, claimant, now)
        else:  # pragma: no cover - RECORD_* only occur with no invitation, handled above
            raise AssertionError(step)
        if invitation is None:
            bound.info("invitation moved on by another task")
            note_decision("not invited here", reason="another task moved the invitation on")
            return None


async def _insert(
    store: InvitationStore,
    target: InvitationTarget,
    step: rules.Step,
    claimant: str,
    now: dt.datetime,
) -> Invitation | None:
    state = rules.DEFERRED if step is rules.Step.RECORD_DEFERRED else rules.CHECKING
    invitation = Invitation(
        org_id=target.org_id,
        user_id=target.user_id,
        org_login=target.org_login,
        user_login=target.user_login,
        state=state,
        updated_at=now,
        pr_url=target.pr_html_url,
        **_claim_after(state, claimant, now),
    )
    # The target is recorded with the invitation, in one transaction: a retry (or the deferred
    # sweep) acts on the PR, message and team it started with.
    context = (CONTEXT_KIND, target.key, target.context())
    if not await run_sync(store.insert_invitation, invitation, effect=context):
        return None
    return invitation


def _claim_after(state: str, claimant: str, now: dt.datetime) -> dict[str, Any]:
    """The claim an invitation keeps in ``state``: renewed while in progress, let go once it rests
    (final, or deferred until whichever task comes after the pause)."""
    if state in rules.FINAL_STATES or state == rules.DEFERRED:
        return {"claimed_by": None, "claimed_until": None}
    return {"claimed_by": claimant, "claimed_until": now + CLAIM_TTL}


async def _move(
    store: InvitationStore,
    invitation: Invitation,
    state: str,
    claimant: str,
    now: dt.datetime,
    **changes: Any,
) -> Invitation | None:
    """Compare-and-set the invitation to ``state`` while ``claimant`` holds it; None if someone else
    changed it or took the claim first."""
    rules.check_transition(invitation.state, state)
    moved = replace(
        invitation, state=state, updated_at=now, **_claim_after(state, claimant, now), **changes
    )
    if not await run_sync(
        store.update_invitation, moved, expected_state=invitation.state, claimant=claimant
    ):
        return None
    return moved


def _missing_members_permission(
    target: InvitationTarget, endpoint: str, exc: GitHubError
) -> MissingPermission:
    log.error(
        "missing permission",
        permission=MEMBERS_PERMISSION,
        org=target.org_login,
        endpoint=endpoint,
        github_message=getattr(exc, "message", None),
    )
    return MissingPermission(
        permission=MEMBERS_PERMISSION, endpoint=endpoint, account=target.org_login
    )


async def _recorded_target(store: InvitationStore, target: InvitationTarget) -> InvitationTarget:
    """The target as recorded when the invitation started (its PR, message, team), else ``target``."""
    effect = await run_sync(store.get_effect, CONTEXT_KIND, target.key)
    if effect is not None and isinstance(effect.data, Mapping):
        return InvitationTarget.from_context(target.org_id, target.user_id, effect.data)
    return target


async def _check_membership(
    client: GitHubClient,
    store: InvitationStore,
    invitation: Invitation,
    target: InvitationTarget,
    claimant: str,
    now: dt.datetime,
    *,
    throttled: bool,
    target_recorded: bool,
) -> Invitation | None:
    url_vars = {"org": target.org_login, "username": target.user_login}
    try:
        answer = await client.getitem(MEMBERSHIP_URL, url_vars)
    except NotFound:
        membership: rules.MembershipState | None = None
    except Forbidden as exc:
        raise _missing_members_permission(target, "GET " + MEMBERSHIP_URL, exc) from exc
    else:
        membership = rules.read_membership_state(answer)
    decision = rules.decide_after_membership(invitation.state, membership, throttled=throttled)
    moved: Invitation | None = invitation
    if decision.state != invitation.state:
        moved = await _move(store, invitation, decision.state, claimant, now)
        log.info(
            "membership checked",
            org=target.org_login,
            user=target.user_login,
            membership=membership,
            state=decision.state,
        )
        if decision.state == rules.MEMBER:
            pending = membership == "pending"
            note_decision(
                "not invited", reason="invitation pending" if pending else "already a member"
            )
    if moved is None or not decision.invite:
        return moved
    if not target_recorded:
        target = await _recorded_target(store, target)
    return await _invite(client, store, moved, target, claimant, now)


async def _invite(
    client: GitHubClient,
    store: InvitationStore,
    invitation: Invitation,
    target: InvitationTarget,
    claimant: str,
    now: dt.datetime,
) -> Invitation | None:
    """Send the invitation to ``target`` as recorded when the invitation started."""
    endpoint = "POST " + INVITATIONS_URL
    data: dict[str, Any] = {"invitee_id": target.user_id}
    if target.team_id is not None:
        data["team_ids"] = [target.team_id]
    try:
        await client.post(INVITATIONS_URL, {"org": target.org_login}, data=data)
    except ValidationFailed as exc:
        refusal = rules.classify_invitation_refusal(exc.message, exc.errors)
        state = rules.state_after_refusal(refusal)
        if state is None:
            raise
        if refusal is rules.InvitationRefusal.OVER_RATE_LIMIT:
            until = now + dt.timedelta(seconds=rules.THROTTLE_SECONDS)
            await run_sync(store.throttle_org, target.org_id, until=until)
            log.warning(
                "over the invitation rate limit: invitations paused",
                org=target.org_login,
                user=target.user_login,
                until=until.isoformat(),
            )
        else:
            log.info("already a member", org=target.org_login, user=target.user_login)
        note_decision("not invited", reason=_REFUSED[refusal])
        return await _move(store, invitation, state, claimant, now, last_error=refusal.value)
    except (Forbidden, NotFound) as exc:
        raise _missing_members_permission(target, endpoint, exc) from exc
    log.info("invitation sent", org=target.org_login, user=target.user_login)
    note_decision("invited", user=target.user_login, org=target.org_login)
    return await _move(store, invitation, rules.INVITED, claimant, now, invited_at=now)


async def _comment(
    client: GitHubClient,
    store: InvitationStore,
    invitation: Invitation,
    target: InvitationTarget,
    options: FeatureOptions,
    claimant: str,
    now: dt.datetime,
) -> Invitation | None:
    # The comment goes on the pull request that started this invitation, whichever event resumes it.
    target = await _recorded_target(store, target)
    body = render_welcome(
        target.welcome_template or options.welcome_template,
        login=target.user_login,
        org=target.org_login,
        pr_url=target.pr_html_url,
        people_url=rules.people_url(target.pr_html_url, target.org_login),
        source_url=options.source_url,
    )
    comment = await find_or_create_comment(
        client,
        repository=target.repository,
        number=target.number,
        marker=rules.welcome_marker(target.org_id, target.user_id),
        body=body,
    )
    comment_id = comment.get("id")
    log.info("welcome comment posted", org=target.org_login, user=target.user_login)
    note_decision("welcomed", pr=target.pr_html_url)
    return await _move(
        store,
        invitation,
        rules.COMMENTED,
        claimant,
        now,
        commented_at=now,
        comment_id=comment_id if isinstance(comment_id, int) else None,
    )
