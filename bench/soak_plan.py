"""The soak's world and deliveries: who exists in the fake GitHub, what each webhook says, and when
each is sent.

Everything that must make the bot call GitHub exists in the fake first (organizations with the app
installed, pull requests merged by :meth:`FakeGitHub.mark_merged`, ``/ping`` comments), so the bot's
calls succeed apart from the injected faults; the payloads come from the fake's own builders. The rest
of the traffic is what a bot mostly receives and ignores: opened pull requests and issues, ordinary
comments, closed-unmerged pull requests, merges by members, hook pings, and the real payload examples
from octokit/webhooks (tests/fixtures) of events the bot has no handler for.

Build the world with :func:`build_world` on the fake's thread; it returns a :class:`Plan` that holds
the expectations (who must be invited, which comments must be answered) and the send schedule.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from snekomatic.gh.testing import (
    FakeComment,
    FakeGitHub,
    FakeInstallation,
    FakeOrg,
    FakePullRequest,
    FakeRepo,
    FakeUser,
    issue_comment_payload,
    issues_payload,
    ping_payload,
    pull_request_payload,
)

EXAMPLES = (
    Path(__file__).resolve().parent.parent
    / "tests"
    / "fixtures"
    / "github-webhooks"
    / "payload-examples"
    / "api.github.com"
)
# Events with a handler or a command route in the bot (or that describe the installation itself):
# their real examples name installations and repositories the fake does not have, so the soak sends
# its own payloads for these instead.
HANDLED_EVENTS = frozenset(
    {
        "pull_request",
        "issue_comment",
        "issues",
        "pull_request_review",
        "pull_request_review_comment",
        "pull_request_review_thread",
        "installation",
        "installation_repositories",
        "github_app_authorization",
        "ping",
        "push",
    }
)

Kind = Literal[
    "newcomer_merge",
    "member_merge",
    "closed_unmerged",
    "pr_opened",
    "issue_opened",
    "ping_comment",
    "plain_comment",
    "hook_ping",
    "example",
]
SendKind = Literal["first", "duplicate", "redelivery"]

# Shares of --deliveries; the rest are real examples. Duplicates and redeliveries are sends of a
# delivery id already sent, so they count towards the total.
SHARES: dict[str, float] = {
    "newcomer_merge": 0.02,  # one merged PR by each of these newcomers
    "burst_newcomers": 0.002,  # newcomers with BURST_SIZE merged PRs, all sent at once
    "member_merge": 0.02,
    "closed_unmerged": 0.03,
    "pr_opened": 0.07,
    "issue_opened": 0.15,
    "ping_comment": 0.04,  # each by a different person (the per-person command limit stays out of it)
    "plain_comment": 0.30,
    "duplicate": 0.05,  # the same delivery again, at once, to the other serve
    "redelivery": 0.05,  # the same delivery again, 15-45 s later
}
BURST_SIZE = 5
HOOK_PINGS = 5
PINGS_PER_ISSUE = 5


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery: its id (kept by every resend), event, body and what it is for."""

    guid: str
    event: str
    body: bytes
    kind: Kind


@dataclass(frozen=True)
class Send:
    at: float  # seconds after the start of the load
    delivery: Delivery
    kind: SendKind


@dataclass
class Plan:
    orgs: list[FakeOrg]
    deliveries: list[Delivery]
    sends: list[Send]
    # org login -> the logins that must get exactly one invitation (and one welcome comment)
    expected_invitees: dict[str, set[str]] = field(default_factory=dict)
    # newcomer login -> their merged pull requests (the welcome comment goes on one of them)
    newcomer_prs: dict[str, list[FakePullRequest]] = field(default_factory=dict)
    member_prs: list[FakePullRequest] = field(default_factory=list)
    ping_comments: list[FakeComment] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for d in self.deliveries if d.kind == kind)


@dataclass
class _Org:
    org: FakeOrg
    repo: FakeRepo
    installation: FakeInstallation
    maintainer: FakeUser
    members: list[FakeUser]
    issues: list[int] = field(default_factory=list)  # issue numbers open for comments


def _examples() -> list[tuple[str, bytes]]:
    found = []
    for directory in sorted(EXAMPLES.iterdir()):
        if directory.name in HANDLED_EVENTS or not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.json")):
            found.append((directory.name, json.dumps(json.loads(path.read_text())).encode()))
    return found


def build_world(
    fake: FakeGitHub, *, total: int, rate: float, orgs: int, seed: int, webhook_url: str
) -> Plan:
    """Arrange the fake and plan ``total`` sends at ``rate`` per second. Run on the fake's thread."""
    rng = random.Random(seed)
    api = fake.base_url or ""
    places: list[_Org] = []
    for i in range(orgs):
        org = fake.add_org(f"soak-org-{i}")
        maintainer = fake.add_user(f"maintainer-{i}")
        fake.add_member(org, maintainer)
        members = [fake.add_user(f"member-{i}-{j}") for j in range(5)]
        for member in members:
            fake.add_member(org, member)
        places.append(
            _Org(org, fake.add_repo(org, "widget"), fake.install(org), maintainer, members)
        )
    plan = Plan(orgs=[p.org for p in places], deliveries=[], sends=[])
    deliveries = plan.deliveries
    bursts: list[list[Delivery]] = []

    def delivery(event: str, payload: dict[str, Any], kind: Kind) -> Delivery:
        made = Delivery(
            str(uuid.UUID(int=rng.getrandbits(128))), event, json.dumps(payload).encode(), kind
        )
        deliveries.append(made)
        return made

    def share(name: str) -> int:
        return max(1, round(total * SHARES[name]))

    def closed(place: _Org, pr: FakePullRequest, kind: Kind) -> Delivery:
        """The ``pull_request.closed`` webhook a maintainer's close (or merge) of ``pr`` sends."""
        payload = pull_request_payload(
            pr,
            action="closed",
            sender=place.maintainer,
            installation=place.installation,
            api_url=api,
        )
        return delivery("pull_request", payload, kind)

    def merged_by_newcomer(place: _Org, login: str, kind: Kind) -> Delivery:
        user = fake.users.get(login.lower()) or fake.add_user(login)
        pr = fake.open_pull_request(place.repo, author=user, title=f"Fix by {login}")
        fake.mark_merged(pr, merged_by=place.maintainer)
        plan.newcomer_prs.setdefault(login, []).append(pr)
        plan.expected_invitees.setdefault(place.org.login, set()).add(login)
        return closed(place, pr, kind)

    for n in range(share("newcomer_merge")):
        merged_by_newcomer(places[n % orgs], f"newcomer-{n}", "newcomer_merge")
    for n in range(share("burst_newcomers")):
        place = places[rng.randrange(orgs)]
        bursts.append(
            [merged_by_newcomer(place, f"eager-{n}", "newcomer_merge") for _ in range(BURST_SIZE)]
        )
    for n in range(share("member_merge")):
        place = places[n % orgs]
        pr = fake.open_pull_request(place.repo, author=rng.choice(place.members))
        fake.mark_merged(pr, merged_by=place.maintainer)
        plan.member_prs.append(pr)
        closed(place, pr, "member_merge")
    passerby = [fake.add_user(f"passerby-{n}") for n in range(50)]
    for n in range(share("closed_unmerged")):
        place = places[n % orgs]
        pr = fake.open_pull_request(place.repo, author=rng.choice(passerby))
        pr.issue.state, pr.issue.closed_at = "closed", fake.now()
        closed(place, pr, "closed_unmerged")
    for n in range(share("pr_opened")):
        place = places[n % orgs]
        author = rng.choice(passerby)
        pr = fake.open_pull_request(place.repo, author=author, body="Please have a look.")
        delivery(
            "pull_request",
            pull_request_payload(
                pr, action="opened", sender=author, installation=place.installation, api_url=api
            ),
            "pr_opened",
        )
    for n in range(share("issue_opened")):
        place = places[n % orgs]
        author = rng.choice(passerby)
        issue = fake.open_issue(
            place.repo, author=author, title="It breaks", body="Steps to reproduce."
        )
        place.issues.append(issue.number)
        delivery(
            "issues",
            issues_payload(
                issue, action="opened", sender=author, installation=place.installation, api_url=api
            ),
            "issue_opened",
        )

    def comment(place: _Org, number: int, author: FakeUser, body: str, kind: Kind) -> FakeComment:
        made = fake.create_comment(place.repo, number, author=author, body=body)
        issue = fake.issues[(place.repo.id, number)]
        delivery(
            "issue_comment",
            issue_comment_payload(
                made,
                issue,
                action="created",
                sender=author,
                installation=place.installation,
                api_url=api,
            ),
            kind,
        )
        return made

    ping_threads: dict[int, list[int]] = {}
    for n in range(share("ping_comment")):
        place = places[n % orgs]
        threads = ping_threads.setdefault(n % orgs, [])
        if (
            not threads
            or len(
                [
                    c
                    for c in plan.ping_comments
                    if c.repo is place.repo and c.issue_number == threads[-1]
                ]
            )
            >= PINGS_PER_ISSUE
        ):
            threads.append(
                fake.open_issue(place.repo, author=place.maintainer, title="Ping here").number
            )
        pinger = fake.add_user(f"pinger-{n}")
        plan.ping_comments.append(
            comment(place, threads[-1], pinger, "Is it up?\n/ping\n", "ping_comment")
        )
    chatter = ["Thanks!", "LGTM", "Could you rebase?", "I see this too.", "Fixed in main."]
    for n in range(share("plain_comment")):
        place = places[n % orgs]
        if not place.issues:
            place.issues.append(fake.open_issue(place.repo, author=place.maintainer).number)
        comment(
            place,
            rng.choice(place.issues),
            rng.choice(passerby),
            rng.choice(chatter),
            "plain_comment",
        )
    for _ in range(HOOK_PINGS):
        delivery(
            "ping",
            ping_payload(hook_id=1, app_id=fake.app_id, webhook_url=webhook_url, api_url=api),
            "hook_ping",
        )
    examples = _examples()
    resends = share("duplicate") + share("redelivery")
    for n in range(max(0, total - resends - len(deliveries))):
        event, body = examples[n % len(examples)]
        made = Delivery(str(uuid.UUID(int=rng.getrandbits(128))), event, body, "example")
        deliveries.append(made)

    plan.sends = _schedule(plan, bursts, total=total, rate=rate, rng=rng, share=share)
    return plan


def _schedule(
    plan: Plan,
    bursts: list[list[Delivery]],
    *,
    total: int,
    rate: float,
    rng: random.Random,
    share: Any,
) -> list[Send]:
    """Times for every send: first sends evenly over ``total / rate`` seconds in random order (a
    burst's deliveries share one time), duplicates a moment after their first send, redeliveries
    15-45 s after it (within the run)."""
    duration = total / rate
    in_burst = {d.guid for burst in bursts for d in burst}
    slots: list[list[Delivery]] = [[d] for d in plan.deliveries if d.guid not in in_burst]
    slots += bursts
    rng.shuffle(slots)
    step = duration / max(1, len(slots))
    sends: list[Send] = []
    first_at: dict[str, float] = {}
    for index, slot in enumerate(slots):
        at = index * step
        for d in slot:
            sends.append(Send(at, d, "first"))
            first_at[d.guid] = at
    by_guid = {d.guid: d for d in plan.deliveries}
    candidates = list(by_guid)
    for _ in range(share("duplicate")):
        d = by_guid[rng.choice(candidates)]
        sends.append(Send(first_at[d.guid] + rng.uniform(0.0, 0.2), d, "duplicate"))
    for _ in range(share("redelivery")):
        d = by_guid[rng.choice(candidates)]
        at = min(first_at[d.guid] + rng.uniform(15.0, 45.0), duration)
        sends.append(Send(at, d, "redelivery"))
    sends.sort(key=lambda s: s.at)
    return sends
