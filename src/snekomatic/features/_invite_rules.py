"""The invite feature's decisions, as pure functions and tables: no I/O, no clock, no logging.

One invitation (an organization id and a user id) moves through these states, each recorded in the store
before the step that follows it, so that a retry after a crash at any point repeats no effect::

    (none) ──> checking ──> member                     active or pending before we came: nothing to do
      │           │
      │           ├──> inviting ──> invited ──> commented
      │           │       │  └────> member             422 "already a part of this organization"
      │           │       └───────> deferred           422 "Over invitation rate limit" / org paused
      │           └──> deferred                        the organization's invitations are paused
      └──────────────> deferred ──> checking           resumed once the pause is over

- ``inviting`` is recorded *before* ``POST /orgs/{org}/invitations``. On a retry in that state a
  ``pending`` membership means our invitation went through before the crash, so we go on to comment; a
  404 means it did not, so we send it.
- ``invited`` is recorded right after the POST succeeds, before the comment; the comment carries a hidden
  marker and is looked up before posting, so a retry in ``invited`` finds it instead of posting another.

Several tasks may hold the same invitation at once (pull requests by one person merged together, a
redelivery, a backfill). Compare-and-set on the state keeps the row single but not the effects: each
task that read ``invited`` would look for the comment, find none yet, and post. So a task claims the
invitation before any step that calls GitHub (``Store.claim_invitation``, renewed at each step, let go
in a final or deferred state) and the others step aside; the same work retried carries its claim on.

GitHub rules used here:
https://docs.github.com/en/rest/orgs/members#get-organization-membership-for-a-user (200 active|pending,
404 otherwise) and https://docs.github.com/en/rest/orgs/members#create-an-organization-invitation (422
for existing members and over the invitation rate limit: 50 a day for young or free organizations).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeGuard
from urllib.parse import urlsplit

from snekomatic.features._names import is_github_name, split_full_name
from snekomatic.features.orgconfig import InviteConfig

__all__ = [
    "ALLOWED_TRANSITIONS",
    "CHECKING",
    "COMMENTED",
    "DEFERRED",
    "FINAL_STATES",
    "INITIAL_STATES",
    "INVITED",
    "INVITING",
    "MEMBER",
    "STATES",
    "THROTTLE_SECONDS",
    "IllegalTransition",
    "InvitationRefusal",
    "MembershipDecision",
    "MembershipState",
    "MergedPullRequest",
    "Skip",
    "Step",
    "check_transition",
    "classify_invitation_refusal",
    "config_skip_reason",
    "decide_after_membership",
    "merged_pr_count",
    "merged_prs_query",
    "next_step",
    "people_url",
    "read_membership_state",
    "read_merged_pull_request",
    "state_after_refusal",
    "welcome_marker",
]

CHECKING: Final = "checking"
MEMBER: Final = "member"
INVITING: Final = "inviting"
INVITED: Final = "invited"
COMMENTED: Final = "commented"
DEFERRED: Final = "deferred"

STATES: Final = frozenset({CHECKING, MEMBER, INVITING, INVITED, COMMENTED, DEFERRED})
#: The states a new invitation row is inserted with.
INITIAL_STATES: Final = frozenset({CHECKING, DEFERRED})
#: Nothing is ever done again for these.
FINAL_STATES: Final = frozenset({MEMBER, COMMENTED})

#: Every change of state the feature may make; anything else is a bug (``IllegalTransition``).
ALLOWED_TRANSITIONS: Final[frozenset[tuple[str, str]]] = frozenset(
    {
        (CHECKING, MEMBER),
        (CHECKING, INVITING),
        (CHECKING, DEFERRED),
        (DEFERRED, CHECKING),
        (INVITING, INVITED),
        (INVITING, MEMBER),
        (INVITING, DEFERRED),
        (INVITED, COMMENTED),
    }
)

#: How long invitations into an organization pause after "Over invitation rate limit". GitHub counts
#: invitations over a rolling 24 hours ("You can invite up to 50 people in a 24-hour period").
THROTTLE_SECONDS: Final = 24 * 3600.0

MembershipState = Literal["active", "pending"]


class IllegalTransition(ValueError):
    """A change of state outside :data:`ALLOWED_TRANSITIONS`."""


def check_transition(current: str, new: str) -> None:
    """Raise :class:`IllegalTransition` unless ``current -> new`` is in :data:`ALLOWED_TRANSITIONS`."""
    if (current, new) not in ALLOWED_TRANSITIONS:
        raise IllegalTransition(f"invitation state {current!r} cannot become {new!r}")


# --- reading the event -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MergedPullRequest:
    """What the invite feature needs from a ``pull_request.closed`` payload with ``merged: true``."""

    org_id: int
    org_login: str
    user_id: int
    user_login: str
    repository: str  # "owner/name"
    number: int
    pr_html_url: str


@dataclass(frozen=True)
class Skip:
    """The event asks for nothing. ``reason`` is a short slug for the log line."""

    reason: Literal["not-merged", "bot-author", "no-organization", "malformed"]


def _is_bot(user: Mapping[str, Any]) -> bool:
    login = user.get("login")
    return user.get("type") == "Bot" or (isinstance(login, str) and login.endswith("[bot]"))


def read_merged_pull_request(payload: Mapping[str, Any]) -> MergedPullRequest | Skip:
    """The merged pull request in a ``pull_request`` payload, or why nothing is to be done.

    Skips, in this order: not merged; an author of type ``Bot`` or whose login ends in ``[bot]``; a
    repository owned by a user account (no ``organization`` in the payload); fields missing or of the
    wrong type (``malformed``). Pure; never raises for any mapping.
    """
    pr = payload.get("pull_request")
    if not isinstance(pr, Mapping) or pr.get("merged") is not True:
        return Skip("not-merged")
    user = pr.get("user")
    if not isinstance(user, Mapping):
        return Skip("malformed")
    if _is_bot(user):
        return Skip("bot-author")
    org = payload.get("organization")
    if not isinstance(org, Mapping):
        return Skip("no-organization")
    repository = payload.get("repository")
    full_name = repository.get("full_name") if isinstance(repository, Mapping) else None
    org_id, org_login, user_id, user_login = (
        org.get("id"),
        org.get("login"),
        user.get("id"),
        user.get("login"),
    )
    number, html_url = pr.get("number"), pr.get("html_url")
    names = split_full_name(full_name)
    if not (
        _is_id(org_id)
        and _is_id(user_id)
        and _is_id(number)
        and is_github_name(org_login)
        and is_github_name(user_login)
        and names is not None
        and isinstance(html_url, str)
    ):
        return Skip("malformed")
    return MergedPullRequest(
        org_id=org_id,
        org_login=org_login,
        user_id=user_id,
        user_login=user_login,
        repository="/".join(names),
        number=number,
        pr_html_url=html_url,
    )


def _is_id(value: object) -> TypeGuard[int]:
    # GitHub's ids are 64-bit, as are the store's columns: a larger one would fail at every retry.
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 2**63 - 1


def people_url(pr_html_url: str, org_login: str) -> str:
    """The organization's public member list on the same GitHub host as the pull request.

    ``people_url("https://github.com/o/r/pull/1", "o") == "https://github.com/orgs/o/people"``.
    """
    parts = urlsplit(pr_html_url)
    return f"{parts.scheme}://{parts.netloc}/orgs/{org_login}/people"


def welcome_marker(org_id: int, user_id: int) -> str:
    """The key of the hidden marker the welcome comment carries (one per organization and person)."""
    return f"invite:{org_id}:{user_id}"


# --- what to do next ---------------------------------------------------------------------------------


class Step(enum.Enum):
    """What the handler does next for an invitation, given its recorded state."""

    NOTHING = "nothing"  # done, or someone else's, or paused
    RECORD_CHECKING = "record-checking"  # no row yet: insert one in "checking"
    RECORD_DEFERRED = "record-deferred"  # no row yet and the organization is paused
    DEFER = "defer"  # "checking" while the organization is paused: move to "deferred"
    RESUME = "resume"  # "deferred" and the pause is over: move back to "checking"
    CHECK_MEMBERSHIP = "check-membership"  # GET /orgs/{org}/memberships/{login}
    COMMENT = "comment"  # find or post the welcome comment


_NEXT_STEP: Final[Mapping[tuple[str | None, bool], Step]] = {
    (None, False): Step.RECORD_CHECKING,
    (None, True): Step.RECORD_DEFERRED,
    (CHECKING, False): Step.CHECK_MEMBERSHIP,
    (CHECKING, True): Step.DEFER,
    (DEFERRED, False): Step.RESUME,
    (DEFERRED, True): Step.NOTHING,
    # Our POST may have gone through before a crash: the membership tells, paused or not.
    (INVITING, False): Step.CHECK_MEMBERSHIP,
    (INVITING, True): Step.CHECK_MEMBERSHIP,
    (INVITED, False): Step.COMMENT,
    (INVITED, True): Step.COMMENT,
    (MEMBER, False): Step.NOTHING,
    (MEMBER, True): Step.NOTHING,
    (COMMENTED, False): Step.NOTHING,
    (COMMENTED, True): Step.NOTHING,
}


def next_step(state: str | None, *, throttled: bool) -> Step:
    """The step for an invitation in ``state`` (None: not recorded yet).

    ``throttled``: invitations into the organization are paused. Raises ``ValueError`` for a state the
    feature does not know (a row written by something else).
    """
    try:
        return _NEXT_STEP[(state, throttled)]
    except KeyError:
        raise ValueError(f"unknown invitation state {state!r}") from None


@dataclass(frozen=True)
class MembershipDecision:
    """What a membership answer means: the state to record and whether to send the invitation."""

    state: str
    invite: bool


_AFTER_MEMBERSHIP: Final[Mapping[tuple[str, MembershipState | None], MembershipDecision]] = {
    # Already in (or invited by someone else) before we came: nothing to do, no comment.
    (CHECKING, "active"): MembershipDecision(MEMBER, invite=False),
    (CHECKING, "pending"): MembershipDecision(MEMBER, invite=False),
    (CHECKING, None): MembershipDecision(INVITING, invite=True),
    # We recorded the intent to invite and the membership was 404 just before: "pending" now is our
    # invitation having gone through, so go on to the comment.
    (INVITING, "pending"): MembershipDecision(INVITED, invite=False),
    # Active already: they joined some other way (or accepted within the crash window); no comment.
    (INVITING, "active"): MembershipDecision(MEMBER, invite=False),
    (INVITING, None): MembershipDecision(INVITING, invite=True),
}


def decide_after_membership(
    state: str, membership: MembershipState | None, *, throttled: bool
) -> MembershipDecision:
    """What to do after ``GET /orgs/{org}/memberships/{login}`` answered ``membership`` (None: 404).

    ``state`` is ``checking`` or ``inviting``; an invitation still to be sent while the organization is
    paused is deferred instead. Raises ``ValueError`` for any other state.
    """
    try:
        decision = _AFTER_MEMBERSHIP[(state, membership)]
    except KeyError:
        raise ValueError(f"no membership check in state {state!r}") from None
    if decision.invite and throttled:
        return MembershipDecision(DEFERRED, invite=False)
    return decision


def read_membership_state(answer: object) -> MembershipState:
    """The ``state`` of a membership answer. Raises ``ValueError`` unless it is active or pending."""
    state = answer.get("state") if isinstance(answer, Mapping) else None
    if state == "active":
        return "active"
    if state == "pending":
        return "pending"
    raise ValueError(f"unexpected membership state {state!r}")


# --- GitHub's refusals of an invitation --------------------------------------------------------------


class InvitationRefusal(enum.Enum):
    """Why GitHub answered 422 to ``POST /orgs/{org}/invitations``."""

    ALREADY_MEMBER = "already-member"
    OVER_RATE_LIMIT = "over-rate-limit"
    OTHER = "other"


# GitHub's texts, matched case-insensitively anywhere in the message or in an ``errors`` entry:
# {"message": "Validation Failed", "errors": [{"resource": "OrganizationInvitation",
#  "code": "unprocessable", "field": "data", "message": "Over invitation rate limit"}]}
_ALREADY_MEMBER_TEXT: Final = "already a part of this organization"
_OVER_LIMIT_TEXT: Final = "over invitation rate limit"


def classify_invitation_refusal(message: str, errors: Iterable[object]) -> InvitationRefusal:
    """Classify a 422 from the invitation endpoint by GitHub's ``message`` and ``errors`` list. Pure."""
    texts = [message]
    for error in errors:
        if isinstance(error, Mapping):
            texts.extend(str(value) for value in error.values() if isinstance(value, str))
        elif isinstance(error, str):
            texts.append(error)
    joined = "\n".join(texts).lower()
    if _OVER_LIMIT_TEXT in joined:
        return InvitationRefusal.OVER_RATE_LIMIT
    if _ALREADY_MEMBER_TEXT in joined:
        return InvitationRefusal.ALREADY_MEMBER
    return InvitationRefusal.OTHER


def state_after_refusal(refusal: InvitationRefusal) -> str | None:
    """The state to record after a refusal, or None: not ours to decide (the error propagates)."""
    if refusal is InvitationRefusal.ALREADY_MEMBER:
        return MEMBER
    if refusal is InvitationRefusal.OVER_RATE_LIMIT:
        return DEFERRED
    return None


# --- the organization's configuration (.github/snekomatic.yml) -----------------------------------------


def config_skip_reason(config: InviteConfig, login: str) -> Literal["disabled", "excluded"] | None:
    """Why the configuration forbids inviting ``login`` (a slug for the log line), or None. Pure."""
    if not config.enabled:
        return "disabled"
    if config.excludes(login):
        return "excluded"
    return None


def merged_prs_query(login: str, org: str) -> str:
    """The search (``GET /search/issues?q=``) for ``login``'s merged pull requests in ``org``.

    https://docs.github.com/en/search-github/searching-on-github/searching-issues-and-pull-requests
    """
    return f"is:pr is:merged author:{login} org:{org}"


def merged_pr_count(answer: object, pr_html_url: str) -> int | None:
    """How many merged pull requests a :func:`merged_prs_query` answer counts, or None: inconclusive.

    Inconclusive: ``incomplete_results`` is not false (GitHub's search timed out and counted part of
    the index), or the answer lacks a numeric ``total_count``. The search index lags behind merges, so
    when the answer lists every result (one page holds them all) and the merged pull request at
    ``pr_html_url`` is not among them, it is added to the count. Pure.
    """
    if not isinstance(answer, Mapping) or answer.get("incomplete_results") is not False:
        return None
    total, items = answer.get("total_count"), answer.get("items")
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        return None
    if not isinstance(items, list) or len(items) < total:
        return total
    urls = {item.get("html_url") for item in items if isinstance(item, Mapping)}
    return total if pr_html_url in urls else total + 1
