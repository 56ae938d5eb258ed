"""What the invite feature decided for a merged pull request, in words a person reads.

Read back from what the feature leaves behind (the ``pull_request.closed`` payload it was given and the
invitation it recorded), with the feature's own rules: :func:`explain_merge`. Pure. Used by the GitHub
simulator of ``snekomatic dev`` to show the decision beside each merge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from snekomatic.features import _invite_rules as rules
from snekomatic.store import Invitation

__all__ = ["MergeDecision", "explain_merge"]

Verdict = Literal["invited", "not invited", "undecided"]


@dataclass(frozen=True, kw_only=True)
class MergeDecision:
    """``verdict`` and why, one line: ``"not invited: dependabot[bot] is a bot account"``."""

    verdict: Verdict
    reason: str

    def __str__(self) -> str:
        return f"{self.verdict}: {self.reason}"


# Why a payload asked for nothing (rules.Skip), by its reason; {login}: the pull request's author.
_SKIPPED: Final[Mapping[str, str]] = {
    "not-merged": "the pull request was closed without being merged",
    "bot-author": "{login} is a bot account",
    "no-organization": "the repository belongs to a person, not an organization",
    "malformed": "the webhook lacks fields the bot needs",
}

# What an invitation's state says, by state; {login}, {org}: the invitee and the organization.
_BY_STATE: Final[Mapping[str, tuple[Verdict, str]]] = {
    rules.COMMENTED: ("invited", "invited {login} to {org} and thanked them in a comment"),
    rules.INVITED: ("invited", "invited {login} to {org}; the welcome comment is on its way"),
    rules.MEMBER: ("not invited", "{login} was already a member of {org}, or already invited"),
    rules.DEFERRED: (
        "not invited",
        "invitations to {org} are paused (GitHub's invitation rate limit); {login} is invited "
        "once the pause is over",
    ),
    rules.CHECKING: ("undecided", "checking whether {login} is a member of {org}"),
    rules.INVITING: ("undecided", "inviting {login} to {org}"),
}
_ALREADY_MEMBER: Final[tuple[Verdict, str]] = (
    "not invited",
    "GitHub answered that {login} is already a part of {org}",
)


def _author_login(payload: Mapping[str, Any]) -> str:
    pr = payload.get("pull_request")
    user = pr.get("user") if isinstance(pr, Mapping) else None
    login = user.get("login") if isinstance(user, Mapping) else None
    return login if isinstance(login, str) else "the author"


def _from_state(invitation: Invitation) -> MergeDecision:
    verdict: Verdict
    if (
        invitation.state == rules.MEMBER
        and invitation.last_error == rules.InvitationRefusal.ALREADY_MEMBER.value
    ):
        verdict, reason = _ALREADY_MEMBER
    else:
        verdict, reason = _BY_STATE.get(
            invitation.state, ("undecided", f"the invitation is in state {invitation.state!r}")
        )
    text = reason.format(login=invitation.user_login, org=invitation.org_login)
    return MergeDecision(verdict=verdict, reason=text)


def explain_merge(
    payload: Mapping[str, Any], invitation: Invitation | None, *, processed: bool
) -> MergeDecision:
    """What the invite feature decided for the ``pull_request.closed`` ``payload``, given the
    invitation it recorded for the author and organization (None: none), and whether the delivery
    has been ``processed`` (its handlers ran to the end). Pure; never raises for any mapping.

    An invitation that started from another pull request means this merge changed nothing: the
    answer says which pull request it started from.
    """
    found = rules.read_merged_pull_request(payload)
    if isinstance(found, rules.Skip):
        reason = _SKIPPED[found.reason].format(login=_author_login(payload))
        return MergeDecision(verdict="not invited", reason=reason)
    if invitation is None:
        if not processed:
            return MergeDecision(verdict="undecided", reason="not processed yet")
        return MergeDecision(
            verdict="not invited",
            reason=f"no invitation recorded for {found.user_login} (the organization's "
            ".github/snekomatic.yml may leave them out)",
        )
    decision = _from_state(invitation)
    if invitation.pr_url is not None and invitation.pr_url != found.pr_html_url:
        return MergeDecision(
            verdict="not invited",
            reason=f"{found.user_login} was handled after an earlier pull request, "
            f"{invitation.pr_url} ({decision})",
        )
    return decision
