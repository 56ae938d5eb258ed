"""The invite feature's pure decisions: reading the event, the state table, GitHub's 422s."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest

from snekomatic.features import _invite_rules as rules
from snekomatic.features._invite_rules import (
    CHECKING,
    COMMENTED,
    DEFERRED,
    INVITED,
    INVITING,
    MEMBER,
    InvitationRefusal,
    MembershipDecision,
    MergedPullRequest,
    Skip,
    Step,
)
from tests.payloads import load_payload


def merged_payload(**changes: Any) -> dict[str, Any]:
    """The real ``pull_request.closed`` example of an organization's repository, merged."""
    payload = copy.deepcopy(load_payload("pull_request", "closed.with-organization"))
    payload["pull_request"]["merged"] = True
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        target = payload
        for key in parents:
            target = target[key]
        if value is _DELETE:
            del target[leaf]
        else:
            target[leaf] = value
    return payload


_DELETE = object()


# --- reading the event ---------------------------------------------------------------------------


def test_merged_pull_request_is_read_from_the_real_payload() -> None:
    assert rules.read_merged_pull_request(merged_payload()) == MergedPullRequest(
        org_id=38302899,
        org_login="Octocoders",
        user_id=21031067,
        user_login="Codertocat",
        repository="Codertocat/Hello-World",
        number=2,
        pr_html_url="https://github.com/Codertocat/Hello-World/pull/2",
    )


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (load_payload("pull_request", "closed.with-organization"), "not-merged"),
        (merged_payload(pull_request__merged=None), "not-merged"),
        (load_payload("pull_request", "opened.with-organization"), "not-merged"),
        (merged_payload(pull_request__user__type="Bot"), "bot-author"),
        (merged_payload(pull_request__user__login="dependabot[bot]"), "bot-author"),
        (merged_payload(organization=_DELETE), "no-organization"),
        (merged_payload(organization__id="38302899"), "malformed"),
        (merged_payload(pull_request__user__id=True), "malformed"),
        (merged_payload(pull_request__user=None), "malformed"),
        (merged_payload(repository__full_name="no-slash"), "malformed"),
        (merged_payload(organization__login=".."), "malformed"),
        (merged_payload(pull_request__user__login="."), "malformed"),
        (merged_payload(pull_request__user__login=""), "malformed"),
        (merged_payload(repository__full_name="octo-org/.."), "malformed"),
        (merged_payload(repository__full_name="/widget"), "malformed"),
        ({}, "not-merged"),
    ],
    ids=[
        "closed-unmerged",
        "merged-null",
        "opened",
        "bot-type",
        "bot-login-suffix",
        "user-owned-repository",
        "org-id-not-int",
        "user-id-bool",
        "user-missing",
        "bad-full-name",
        "org-login-dot-dot",
        "user-login-dot",
        "user-login-empty",
        "repository-dot-dot",
        "owner-empty",
        "empty-payload",
    ],
)
def test_events_that_ask_for_nothing_are_skipped_with_a_reason(
    payload: dict[str, Any], reason: str
) -> None:
    assert rules.read_merged_pull_request(payload) == Skip(reason)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [
        {"pull_request__user__id": 2**64},
        {"pull_request__user__id": 2**63},
        {"organization__id": 2**64},
        {"pull_request__number": 10**30},
    ],
    ids=["user-id-2-to-the-64", "user-id-2-to-the-63", "org-id-2-to-the-64", "number-10-to-the-30"],
)
def test_an_id_beyond_64_bits_is_malformed_not_a_failure_forever(changes: dict[str, Any]) -> None:
    # The store keeps ids in BIGINT columns: such an event failed at every attempt of the worker.
    assert rules.read_merged_pull_request(merged_payload(**changes)) == Skip("malformed")


def test_the_largest_64_bit_id_is_read() -> None:
    read = rules.read_merged_pull_request(merged_payload(pull_request__user__id=2**63 - 1))
    assert isinstance(read, MergedPullRequest) and read.user_id == 2**63 - 1


def test_people_url_is_on_the_pull_requests_host() -> None:
    assert (
        rules.people_url("https://ghe.example/o/r/pull/1", "octo-org")
        == "https://ghe.example/orgs/octo-org/people"
    )


def test_welcome_marker_is_keyed_by_ids_not_logins() -> None:
    assert rules.welcome_marker(7, 42) == "invite:7:42"


# --- the state table -----------------------------------------------------------------------------

NEXT_STEPS = [
    (None, False, Step.RECORD_CHECKING),
    (None, True, Step.RECORD_DEFERRED),
    (CHECKING, False, Step.CHECK_MEMBERSHIP),
    (CHECKING, True, Step.DEFER),
    (DEFERRED, False, Step.RESUME),
    (DEFERRED, True, Step.NOTHING),
    (INVITING, False, Step.CHECK_MEMBERSHIP),
    (INVITING, True, Step.CHECK_MEMBERSHIP),
    (INVITED, False, Step.COMMENT),
    (INVITED, True, Step.COMMENT),
    (MEMBER, False, Step.NOTHING),
    (MEMBER, True, Step.NOTHING),
    (COMMENTED, False, Step.NOTHING),
    (COMMENTED, True, Step.NOTHING),
]


@pytest.mark.parametrize(
    ("state", "throttled", "step"),
    NEXT_STEPS,
    ids=[f"{s or 'new'}-{'paused' if t else 'open'}" for s, t, _ in NEXT_STEPS],
)
def test_next_step_for_each_state(state: str | None, throttled: bool, step: Step) -> None:
    assert rules.next_step(state, throttled=throttled) is step


def test_every_state_has_a_next_step() -> None:
    covered = {(state, throttled) for state, throttled, _ in NEXT_STEPS}
    assert covered == set(itertools.product([None, *rules.STATES], [False, True]))


def test_an_unknown_state_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown invitation state"):
        rules.next_step("sent", throttled=False)


AFTER_MEMBERSHIP = [
    (CHECKING, "active", False, MembershipDecision(MEMBER, invite=False)),
    (CHECKING, "pending", False, MembershipDecision(MEMBER, invite=False)),
    (CHECKING, None, False, MembershipDecision(INVITING, invite=True)),
    (CHECKING, None, True, MembershipDecision(DEFERRED, invite=False)),
    (INVITING, "pending", False, MembershipDecision(INVITED, invite=False)),
    (INVITING, "pending", True, MembershipDecision(INVITED, invite=False)),
    (INVITING, "active", False, MembershipDecision(MEMBER, invite=False)),
    (INVITING, None, False, MembershipDecision(INVITING, invite=True)),
    (INVITING, None, True, MembershipDecision(DEFERRED, invite=False)),
]


@pytest.mark.parametrize(
    ("state", "membership", "throttled", "decision"),
    AFTER_MEMBERSHIP,
    ids=[
        "active-before-we-came",
        "pending-before-we-came",
        "stranger-invite",
        "stranger-while-paused-defers",
        "our-invitation-went-through",
        "our-invitation-went-through-while-paused",
        "joined-meanwhile",
        "our-invitation-never-arrived",
        "our-invitation-never-arrived-while-paused",
    ],
)
def test_membership_answer_decides_the_next_state(
    state: str, membership: Any, throttled: bool, decision: MembershipDecision
) -> None:
    assert rules.decide_after_membership(state, membership, throttled=throttled) == decision


@pytest.mark.parametrize("state", [DEFERRED, INVITED, MEMBER, COMMENTED])
def test_membership_is_checked_only_while_checking_or_inviting(state: str) -> None:
    with pytest.raises(ValueError, match="no membership check"):
        rules.decide_after_membership(state, None, throttled=False)


@pytest.mark.parametrize(
    ("current", "new"),
    sorted(rules.ALLOWED_TRANSITIONS),
    ids=[f"{a}-to-{b}" for a, b in sorted(rules.ALLOWED_TRANSITIONS)],
)
def test_allowed_transitions_pass(current: str, new: str) -> None:
    rules.check_transition(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (COMMENTED, INVITED),
        (MEMBER, CHECKING),
        (INVITED, INVITING),
        (DEFERRED, INVITING),
        (CHECKING, INVITED),
        (INVITED, DEFERRED),
    ],
    ids=[
        "commented-backwards",
        "member-reopened",
        "invited-backwards",
        "deferred-skips-check",
        "checking-skips-invite",
        "invited-deferred",
    ],
)
def test_other_transitions_are_illegal(current: str, new: str) -> None:
    with pytest.raises(rules.IllegalTransition):
        rules.check_transition(current, new)


def test_decisions_only_make_allowed_transitions() -> None:
    for state, membership, throttled, _ in AFTER_MEMBERSHIP:
        decision = rules.decide_after_membership(state, membership, throttled=throttled)
        if decision.state != state:
            rules.check_transition(state, decision.state)
    for refusal in InvitationRefusal:
        after = rules.state_after_refusal(refusal)
        if after is not None:
            rules.check_transition(INVITING, after)


@pytest.mark.parametrize(
    ("answer", "state"),
    [({"state": "active"}, "active"), ({"state": "pending"}, "pending")],
    ids=["active", "pending"],
)
def test_membership_state_is_read(answer: dict[str, Any], state: str) -> None:
    assert rules.read_membership_state(answer) == state


@pytest.mark.parametrize("answer", [{"state": "inactive"}, {}, None, []], ids=repr)
def test_unexpected_membership_answers_are_refused(answer: Any) -> None:
    with pytest.raises(ValueError, match="unexpected membership state"):
        rules.read_membership_state(answer)


# --- GitHub's refusals ---------------------------------------------------------------------------


def _error(message: str) -> dict[str, str]:
    return {
        "resource": "OrganizationInvitation",
        "code": "unprocessable",
        "field": "data",
        "message": message,
    }


@pytest.mark.parametrize(
    ("message", "errors", "refusal"),
    [
        (
            "Validation Failed",
            [_error("Invitee is already a part of this organization")],
            InvitationRefusal.ALREADY_MEMBER,
        ),
        (
            "Validation Failed",
            [_error("Over invitation rate limit")],
            InvitationRefusal.OVER_RATE_LIMIT,
        ),
        ("Over invitation rate limit", [], InvitationRefusal.OVER_RATE_LIMIT),
        ("Validation Failed", ["OVER INVITATION RATE LIMIT"], InvitationRefusal.OVER_RATE_LIMIT),
        (
            "Validation Failed",
            [{"resource": "OrganizationInvitation", "code": "invalid", "field": "invitee_id"}],
            InvitationRefusal.OTHER,
        ),
        ("Validation Failed", [42, None], InvitationRefusal.OTHER),
    ],
    ids=[
        "already-member",
        "over-limit-in-errors",
        "over-limit-in-message",
        "case-insensitive-string-error",
        "invalid-invitee",
        "junk-errors",
    ],
)
def test_invitation_refusals_are_classified(
    message: str, errors: list[Any], refusal: InvitationRefusal
) -> None:
    assert rules.classify_invitation_refusal(message, errors) is refusal


@pytest.mark.parametrize(
    ("refusal", "state"),
    [
        (InvitationRefusal.ALREADY_MEMBER, MEMBER),
        (InvitationRefusal.OVER_RATE_LIMIT, DEFERRED),
        (InvitationRefusal.OTHER, None),
    ],
    ids=["already-member", "over-limit", "other"],
)
def test_state_after_refusal(refusal: InvitationRefusal, state: str | None) -> None:
    assert rules.state_after_refusal(refusal) == state


@pytest.mark.parametrize("state", sorted(rules.FINAL_STATES))
@pytest.mark.parametrize("throttled", [False, True])
def test_a_final_state_asks_for_nothing_paused_or_not(state: str, throttled: bool) -> None:
    # advance_invitation returns on a final state before reading the organization's pause.
    assert rules.next_step(state, throttled=throttled) is rules.Step.NOTHING
