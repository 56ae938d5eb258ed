"""What the GitHub simulator shows, as JSON-ready data: the fake's world, and what the bot made of it.

:func:`simulator_state` reads the fake and, when given one, a :class:`~snekomatic.dev._bot_view.BotReport`
(the bot's records); it changes nothing and does no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

from snekomatic.dev._bot_view import BotReport
from snekomatic.features import explain_merge
from snekomatic.gh.testing import (
    FakeDelivery,
    FakeGitHub,
    FakeOrg,
    FakePullRequest,
    FakeRepo,
    FakeUser,
)
from snekomatic.store import DeliveryStatus, DeliverySummary

__all__ = ["RECENT_DELIVERIES", "install_path", "pull_json", "simulator_state"]

RECENT_DELIVERIES: Final = 15


def install_path(slug: str) -> str:
    """Where GitHub installs the app ``slug``: ``{html_url}/installations/new`` of the app."""
    return f"/apps/{slug}/installations/new"


def _reactions(reactions: list[tuple[FakeUser, str]]) -> list[dict[str, str]]:
    return [{"user": user.login, "content": content} for user, content in reactions]


def _time(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds")


def _pull_ref(payload: Mapping[str, Any]) -> str | None:
    """``owner/repo#number`` of the pull request or issue a webhook is about, or None."""
    repository = payload.get("repository")
    subject = payload.get("pull_request") or payload.get("issue")
    if not isinstance(repository, Mapping) or not isinstance(subject, Mapping):
        return None
    return f"{repository.get('full_name')}#{subject.get('number')}"


def _is_merge_of(delivery: FakeDelivery, pr: FakePullRequest) -> bool:
    payload = delivery.payload
    pull = payload.get("pull_request")
    repository = payload.get("repository")
    return (
        delivery.event == "pull_request"
        and delivery.action == "closed"
        and isinstance(pull, Mapping)
        and pull.get("merged") is True
        and pull.get("number") == pr.number
        and isinstance(repository, Mapping)
        and repository.get("id") == pr.repo.id
    )


def _stored_outcome(stored: DeliverySummary | None) -> str:
    """What the bot's database says of one webhook, in a few words."""
    if stored is None:
        return "not stored by the bot"
    if stored.status is DeliveryStatus.DONE:
        return "processed"
    if stored.status is DeliveryStatus.DEAD:
        return f"failed: {stored.last_error}"
    if stored.status is DeliveryStatus.LEASED:
        return "being processed"
    if stored.last_error:
        return f"to be retried (attempt {stored.attempts} failed: {stored.last_error})"
    return "waiting for a worker"


def _merge_decision(
    fake: FakeGitHub, pr: FakePullRequest, bot: BotReport
) -> dict[str, str] | None:
    """The bot's decision on a merged pull request: ``kind`` (invited, not-invited, undecided,
    failed, none) and ``text``. None for a pull request that is not merged."""
    if not pr.merged:
        return None
    delivery = next((d for d in reversed(fake.deliveries) if _is_merge_of(d, pr)), None)
    if delivery is None:
        owner = pr.repo.owner.login
        return {"kind": "none", "text": f"no webhook: the app is not installed on {owner}"}
    if delivery.status_code == 0:
        return {"kind": "failed", "text": f"the bot did not answer the webhook ({delivery.status})"}
    if not 200 <= delivery.status_code < 300:
        return {"kind": "failed", "text": f"the bot refused the webhook: {delivery.status}"}
    if bot.problem is not None:
        return {"kind": "undecided", "text": f"cannot tell: {bot.problem}"}
    stored = bot.deliveries.get(delivery.guid)
    if stored is None or stored.status is DeliveryStatus.DEAD:
        kind = "undecided" if stored is None else "failed"
        return {"kind": kind, "text": _stored_outcome(stored)}
    # The invitation's record tells as soon as it is written, before the delivery is settled.
    org = pr.repo.org
    invitation = bot.invitations.get((org.id, pr.author.id)) if org is not None else None
    processed = stored.status is DeliveryStatus.DONE
    decision = explain_merge(delivery.payload, invitation, processed=processed)
    if decision.verdict == "undecided" and not processed:
        return {"kind": "undecided", "text": _stored_outcome(stored)}
    return {"kind": decision.verdict.replace(" ", "-"), "text": str(decision)}


def pull_json(
    fake: FakeGitHub, pr: FakePullRequest, bot: BotReport | None = None
) -> dict[str, Any]:
    """One pull request as :func:`simulator_state` shows it. Pure."""
    state = "merged" if pr.merged else pr.issue.state
    return {
        "number": pr.number,
        "title": pr.issue.title,
        "body": pr.issue.body or "",
        "author": pr.author.login,
        "author_type": pr.author.type,
        "state": state,
        "merged_by": pr.merged_by.login if pr.merged_by is not None else None,
        "decision": _merge_decision(fake, pr, bot) if bot is not None and bot.invites else None,
        "reactions": _reactions(pr.issue.reactions),
        "comments": [
            {
                "id": comment.id,
                "author": comment.author.login,
                "author_type": comment.author.type,
                "body": comment.body,
                "reactions": _reactions(comment.reactions),
            }
            for comment in fake.comments_on(pr.repo, pr.number)
        ],
    }


def _repo_json(fake: FakeGitHub, repo: FakeRepo, bot: BotReport | None) -> dict[str, Any]:
    return {
        "full_name": repo.full_name,
        # Who may merge: write access, as on GitHub.
        "writers": sorted(
            user.login
            for user in fake.users.values()
            if user.type != "Organization" and fake.has_write_access(repo, user)
        ),
        "pulls": [
            pull_json(fake, pr, bot)
            for (repo_id, _), pr in fake.pulls.items()
            if repo_id == repo.id
        ],
    }


def _org_json(fake: FakeGitHub, org: FakeOrg) -> dict[str, Any]:
    return {
        "login": org.login,
        "installed": fake.installation_for(org.account) is not None,
        "members": [
            {"login": m.user.login, "state": m.state, "role": m.role} for m in org.members.values()
        ],
        "invitations": [
            {"invitee": i.invitee.login, "inviter": i.inviter.login, "role": i.role}
            for i in fake.invitations_for(org)
        ],
    }


def _delivery_json(delivery: FakeDelivery, bot: BotReport | None) -> dict[str, Any]:
    return {
        "event": delivery.event,
        "action": delivery.action,
        "guid": delivery.guid,
        "pull": _pull_ref(delivery.payload),
        "delivered_at": _time(delivery.delivered_at),
        "status_code": delivery.status_code,
        "status": delivery.status,
        "outcome": (
            _stored_outcome(bot.deliveries.get(delivery.guid))
            if bot is not None and bot.problem is None and 200 <= delivery.status_code < 300
            else None
        ),
    }


def simulator_state(fake: FakeGitHub, *, bot: BotReport | None = None) -> dict[str, Any]:
    """What the page shows, as JSON-ready data. Pure: reads ``fake`` (and ``bot``), changes nothing.

    Keys: ``app`` (slug, bot login, webhook URL, install path), ``bot`` (None without a report; else
    its status and the problem to show, if any), ``users`` (people and bots, not organizations),
    ``orgs`` (members with state and role, invitations, whether the app is installed), ``repos``
    (who may merge, pull requests with their author, state ``open``/``closed``/``merged``, the
    bot's decision on a merge, comments and reactions), ``deliveries`` (the latest webhooks, newest
    first: the pull request, when, the bot's HTTP answer and, with a report, what it did with it).
    """
    return {
        "app": {
            "slug": fake.app_slug,
            "bot": fake.bot.login,
            "webhook_url": fake.webhook_url,
            "install_path": install_path(fake.app_slug),
        },
        "bot": (
            None if bot is None else {"status": bot.status.value, "problem": bot.problem}
        ),
        "users": [
            {"login": u.login, "type": u.type}
            for u in fake.users.values()
            if u.type != "Organization" and u is not fake.bot
        ],
        "orgs": [_org_json(fake, org) for org in fake.orgs.values()],
        "repos": [_repo_json(fake, repo, bot) for repo in fake.repos.values()],
        "deliveries": [
            _delivery_json(d, bot) for d in reversed(fake.deliveries[-RECENT_DELIVERIES:])
        ],
    }
