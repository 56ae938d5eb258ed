"""The fake's state, the changes to it that send nothing, and the knobs tests turn.

:class:`FakeGitHubState` is what the request pipeline and the routes read and change; the served
:class:`~snekomatic.gh.testing.FakeGitHub` builds on it with what goes over the wire (webhooks,
tokens, its ASGI app), so that nothing here imports the routes that use it.
"""

from __future__ import annotations

import fnmatch
import itertools
import random
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from snekomatic.gh.testing._auth import IssuedToken
from snekomatic.gh.testing._faults import Fault, FaultKind, RandomFault
from snekomatic.gh.testing._files import FakeFile, RepoContents
from snekomatic.gh.testing._keys import public_key_pem
from snekomatic.gh.testing._model import (
    REPO_PERMISSIONS,
    DeliveryExchange,
    FakeComment,
    FakeDelivery,
    FakeInstallation,
    FakeInvitation,
    FakeIssue,
    FakeMembership,
    FakeOrg,
    FakePullRequest,
    FakeRepo,
    FakeUser,
    MembershipState,
    RecordedRequest,
    RepoPermission,
    UserType,
)
from snekomatic.gh.testing._ratelimit import RateWindow
from snekomatic.gh.testing._teams import FakeTeam, team_slug

if TYPE_CHECKING:
    import httpx

DEFAULT_PERMISSIONS = {
    "metadata": "read",
    "contents": "read",
    "issues": "write",
    "pull_requests": "write",
    "members": "write",
}


def _ids(start: int) -> Iterator[int]:
    # One counter per kind, at magnitudes like GitHub's, so ids of different kinds never collide.
    return itertools.count(start)


class FakeGitHubState:
    """The fake's state: plain records (``_model``) in dicts, id counters, faults, the request and
    delivery logs, and the changes to them that emit no webhook. See
    :class:`~snekomatic.gh.testing.FakeGitHub` for the arguments."""

    def __init__(
        self,
        *,
        app_id: int = 1,
        private_key: str,
        webhook_secret: str = "fake-webhook-secret",  # noqa: S107 (a test fake's default)
        webhook_url: str | None = None,
        clock: Callable[[], float] = time.time,
        clock_skew: float = 0.0,
        invitation_daily_limit: int = 50,
        token_lifetime: float = 3600.0,
        app_slug: str = "snekomatic-test",
        webhook_http: httpx.AsyncClient | None = None,
    ) -> None:
        self.app_id = app_id
        self.app_slug = app_slug
        self.webhook_secret = webhook_secret
        self.webhook_url = webhook_url
        self.webhook_http = webhook_http
        self.clock = clock
        self.clock_skew = clock_skew
        self.invitation_daily_limit = invitation_daily_limit
        self.token_lifetime = token_lifetime
        self.base_url: str | None = None
        self._public_key = public_key_pem(private_key)
        self._user_ids = _ids(10_000_001)
        self._repo_ids = _ids(700_000_001)
        self._issue_ids = _ids(2_000_000_001)
        self._pull_ids = _ids(1_500_000_001)
        self._comment_ids = _ids(1_900_000_001)
        self._reaction_ids = _ids(200_000_001)
        self._installation_ids = _ids(40_000_001)
        self._invitation_ids = _ids(80_000_001)
        self._delivery_ids = _ids(12_000_000_001)
        self._team_ids = _ids(3_000_001)
        self.users: dict[str, FakeUser] = {}
        self.orgs: dict[str, FakeOrg] = {}
        self.repos: dict[str, FakeRepo] = {}
        self.installations: dict[int, FakeInstallation] = {}
        self.issues: dict[tuple[int, int], FakeIssue] = {}
        self.pulls: dict[tuple[int, int], FakePullRequest] = {}
        self.comments: dict[int, FakeComment] = {}
        self.tokens: dict[str, IssuedToken] = {}
        self.requests: list[RecordedRequest] = []
        self.deliveries: list[FakeDelivery] = []
        self.faults: list[Fault] = []
        self.random_faults: list[RandomFault] = []
        self.reaction_ids: dict[tuple[str, int, int, str], int] = {}
        self.delivery_exchanges: dict[int, DeliveryExchange] = {}
        self._windows: dict[tuple[str, int, str], RateWindow] = {}
        self.contents = RepoContents()
        self.teams: dict[tuple[int, str], FakeTeam] = {}  # (org id, slug)
        self.search_incomplete_results = False  # GET /search/issues answers incomplete_results
        self.bot = self.add_user(f"{app_slug}[bot]", type="Bot")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} app_id={self.app_id} base_url={self.base_url!r}>"

    def now(self) -> float:
        """The fake GitHub's wall-clock time: ``clock() + clock_skew``."""
        return self.clock() + self.clock_skew

    # -- arranging the world -------------------------------------------------------------------

    def add_user(
        self, login: str, *, type: UserType = "User", email: str | None = None
    ) -> FakeUser:
        """A new user (or bot) account; raises ``ValueError`` if the login is taken."""
        if login.lower() in self.users:
            raise ValueError(f"login {login!r} already exists")
        user = FakeUser(id=next(self._user_ids), login=login, type=type, email=email)
        self.users[login.lower()] = user
        return user

    def add_org(self, login: str, *, description: str | None = None) -> FakeOrg:
        """A new organization; its account is a user of type ``Organization``."""
        account = self.add_user(login, type="Organization")
        org = FakeOrg(account=account, description=description)
        self.orgs[login.lower()] = org
        return org

    def add_member(
        self,
        org: FakeOrg,
        user: FakeUser,
        *,
        state: MembershipState = "active",
        role: str = "member",
    ) -> FakeMembership:
        """Make ``user`` a member of ``org`` (``pending`` models an unaccepted invitation)."""
        membership = FakeMembership(
            user=user, state=state, role="admin" if role == "admin" else "member"
        )
        org.members[user.id] = membership
        return membership

    def membership_state(self, org: FakeOrg, user: FakeUser) -> MembershipState | None:
        """``"active"``, ``"pending"`` or None (not a member, not invited)."""
        membership = org.members.get(user.id)
        return membership.state if membership is not None else None

    def add_repo(self, owner: FakeUser | FakeOrg, name: str, *, private: bool = False) -> FakeRepo:
        """A new repository owned by a user or an organization."""
        org = owner if isinstance(owner, FakeOrg) else None
        account = owner.account if isinstance(owner, FakeOrg) else owner
        repo = FakeRepo(
            id=next(self._repo_ids),
            name=name,
            owner=account,
            org=org,
            private=private,
            created_at=self.now(),
        )
        self.repos[repo.full_name.lower()] = repo
        return repo

    def add_collaborator(
        self, repo: FakeRepo, user: FakeUser, *, permission: RepoPermission = "write"
    ) -> None:
        """Give ``user`` the role ``permission`` on ``repo`` (replacing a role given before)."""
        repo.collaborators[user.id] = permission

    def repository_permission(self, repo: FakeRepo, user: FakeUser) -> RepoPermission | None:
        """The strongest role ``user`` holds on ``repo``, or None (no access), as GitHub grants it:
        the owning account and an organization's active owners (admin), collaborators (their role),
        active members (the organization's base permission), anyone on a public repository (read).
        Teams grant nothing here: the fake's teams have no members."""
        roles: list[RepoPermission] = []
        if repo.owner is user:
            roles.append("admin")
        if user.id in repo.collaborators:
            roles.append(repo.collaborators[user.id])
        membership = repo.org.members.get(user.id) if repo.org is not None else None
        if repo.org is not None and membership is not None and membership.state == "active":
            if membership.role == "admin":
                roles.append("admin")
            if repo.org.default_repository_permission is not None:
                roles.append(repo.org.default_repository_permission)
        if not repo.private:
            roles.append("read")
        return max(roles, key=REPO_PERMISSIONS.index, default=None)

    def has_write_access(self, repo: FakeRepo, user: FakeUser) -> bool:
        """Whether ``user`` may push to ``repo`` (write, maintain or admin), and so merge its pull
        requests: "Anyone with push access to the repository can complete the merge."
        https://docs.github.com/en/pull-requests/collaborating-with-pull-requests/incorporating-changes-from-a-pull-request/merging-a-pull-request
        """
        role = self.repository_permission(repo, user)
        return role is not None and REPO_PERMISSIONS.index(role) >= REPO_PERMISSIONS.index("write")

    def install(
        self, account: FakeUser | FakeOrg, *, permissions: dict[str, str] | None = None
    ) -> FakeInstallation:
        """Install the app on ``account``; ``permissions`` default to what a welcome bot needs."""
        target = account.account if isinstance(account, FakeOrg) else account
        installation = FakeInstallation(
            id=next(self._installation_ids),
            account=target,
            permissions=dict(DEFAULT_PERMISSIONS if permissions is None else permissions),
            events=["issue_comment", "issues", "pull_request"],
            created_at=self.now(),
        )
        self.installations[installation.id] = installation
        return installation

    def installation_for(self, account: FakeUser) -> FakeInstallation | None:
        """The installation on ``account``, if the app is installed there."""
        for installation in self.installations.values():
            if installation.account is account:
                return installation
        return None

    def _next_number(self, repo: FakeRepo) -> int:
        return 1 + sum(1 for repo_id, _ in self.issues if repo_id == repo.id)

    def open_issue(
        self, repo: FakeRepo, *, author: FakeUser, title: str = "An issue", body: str = ""
    ) -> FakeIssue:
        """A new open issue in ``repo`` (issues and pull requests share numbers)."""
        now = self.now()
        issue = FakeIssue(
            id=next(self._issue_ids),
            repo=repo,
            number=self._next_number(repo),
            title=title,
            body=body,
            author=author,
            created_at=now,
            updated_at=now,
        )
        self.issues[(repo.id, issue.number)] = issue
        return issue

    def open_pull_request(
        self, repo: FakeRepo, *, author: FakeUser, title: str = "A change", body: str = ""
    ) -> FakePullRequest:
        """A new open pull request in ``repo``. Emits no webhook."""
        issue = self.open_issue(repo, author=author, title=title, body=body)
        issue.is_pull_request = True
        pr = FakePullRequest(issue=issue, id=next(self._pull_ids), head_sha=f"{issue.id:040x}")
        self.pulls[(repo.id, issue.number)] = pr
        return pr

    def mark_merged(self, pr: FakePullRequest, *, merged_by: FakeUser) -> None:
        """Merge ``pr`` (merged, closed, merge commit) without emitting or logging any webhook: for a
        caller that builds and sends the ``pull_request.closed`` payload itself."""
        now = self.now()
        pr.merged, pr.merged_by, pr.merged_at = True, merged_by, now
        pr.merge_commit_sha = f"{pr.id:040x}"
        pr.issue.state, pr.issue.closed_at, pr.issue.updated_at = "closed", now, now

    def create_comment(
        self, repo: FakeRepo, number: int, *, author: FakeUser, body: str
    ) -> FakeComment:
        """Store a new comment on issue or pull request ``number``; emits nothing. KeyError if absent."""
        issue = self.issues[(repo.id, number)]
        now = self.now()
        comment = FakeComment(
            id=next(self._comment_ids),
            repo=repo,
            issue_number=number,
            author=author,
            body=body,
            created_at=now,
            updated_at=now,
        )
        issue.comments.append(comment)
        issue.updated_at = now
        self.comments[comment.id] = comment
        return comment

    def comments_on(self, repo: FakeRepo, number: int) -> list[FakeComment]:
        """The comments on issue or pull request ``number``, oldest first."""
        return list(self.issues[(repo.id, number)].comments)

    def invite(
        self,
        org: FakeOrg,
        invitee: FakeUser,
        *,
        inviter: FakeUser,
        role: str = "direct_member",
        team_ids: list[int] | None = None,
    ) -> FakeInvitation:
        """Record an invitation and make ``invitee`` a pending member (no checks: routes do those)."""
        invitation = FakeInvitation(
            id=next(self._invitation_ids),
            org=org,
            invitee=invitee,
            inviter=inviter,
            role=role,
            team_ids=list(team_ids or []),
            created_at=self.now(),
        )
        org.invitations.append(invitation)
        self.add_member(
            org, invitee, state="pending", role="admin" if role == "admin" else "member"
        )
        return invitation

    def invitations_for(self, org: FakeOrg) -> list[FakeInvitation]:
        """The organization's invitations, oldest first."""
        return list(org.invitations)

    def add_team(self, org: FakeOrg, name: str) -> FakeTeam:
        """A new team in ``org``; its slug is GitHub's slug of ``name``. ValueError if the slug is taken."""
        slug = team_slug(name)
        if (org.id, slug) in self.teams:
            raise ValueError(f"team {slug!r} already exists in {org.login}")
        team = FakeTeam(id=next(self._team_ids), org=org, name=name, slug=slug)
        self.teams[(org.id, slug)] = team
        return team

    # -- files ---------------------------------------------------------------------------------

    def write_file(
        self, repo: FakeRepo, path: str, text: str, *, author: FakeUser | None = None
    ) -> FakeFile:
        """Create or replace ``path`` (UTF-8 ``text``) on the default branch; emits no webhook."""
        self.contents.write(repo, path, text.encode(), author=author or self.bot, now=self.now())
        file = self.contents.get(repo, path)
        assert file is not None
        return file

    # -- fault injection and request log ---------------------------------------------------------

    def inject_fault(
        self,
        method: str,
        path_pattern: str,
        *,
        kind: FaultKind,
        times: int = 1,
        retry_after: float | None = None,
        status: int = 502,
    ) -> None:
        """Make the next ``times`` requests matching ``method`` and ``path_pattern`` (fnmatch globs over
        the method and the URL path) fail with ``kind``. ``status`` is the 5xx a ``server_error`` uses;
        ``retry_after`` (seconds) adds a ``retry-after`` header, or sets a primary limit's reset."""
        self.faults.append(
            Fault(
                method=method,
                path_pattern=path_pattern,
                kind=kind,
                remaining=times,
                retry_after=retry_after,
                status=status,
            )
        )

    def inject_random_faults(
        self,
        method: str = "*",
        path_pattern: str = "*",
        *,
        kind: FaultKind,
        rate: float,
        seed: int | str = 0,
        retry_after: float | None = None,
        status: int = 502,
    ) -> RandomFault:
        """Until removed, fail each request matching ``method`` and ``path_pattern`` (fnmatch globs)
        with probability ``rate`` (0..1) with ``kind``, as :meth:`inject_fault` would.

        The draws come from a generator seeded with ``seed``, so the same sequence of requests meets
        the same faults. Counted faults (:meth:`inject_fault`) are consulted first; several random
        faults draw in the order injected. Returns the fault: its ``taken`` counts the requests it
        struck; remove it with ``fake.random_faults.remove(fault)`` (or ``clear()`` them all).

        Usage::

            fake.inject_random_faults(kind="server_error", rate=0.05, seed=1)
            fake.inject_random_faults(
                kind="secondary_rate_limit", rate=0.01, seed=2, retry_after=2
            )
        """
        fault = RandomFault(
            method=method,
            path_pattern=path_pattern,
            kind=kind,
            rate=rate,
            rng=random.Random(seed),  # noqa: S311 - fault injection, not secrecy
            retry_after=retry_after,
            status=status,
        )
        self.random_faults.append(fault)
        return fault

    def requests_to(self, method: str, path_glob: str) -> list[RecordedRequest]:
        """The recorded requests whose method and path match (fnmatch globs), oldest first."""
        return [
            r
            for r in self.requests
            if fnmatch.fnmatchcase(r.method, method.upper())
            and fnmatch.fnmatchcase(r.path, path_glob)
        ]

    def api_url(self) -> str:
        """The API root payloads link to: where the fake is served, else GitHub's own."""
        return self.base_url or "https://api.github.com"
