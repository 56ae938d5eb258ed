"""The fake GitHub's world: plain mutable records, shared by its HTTP routes and its payload builders.

Times are epoch seconds (floats) from the fake's injected clock; builders format them the way GitHub
does (``2019-05-15T15:20:33Z``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

UserType = Literal["User", "Bot", "Organization"]
MembershipState = Literal["active", "pending"]
#: A role on a repository. GitHub's roles, weakest first:
#: https://docs.github.com/en/organizations/managing-user-access-to-your-organizations-repositories/managing-repository-roles/repository-roles-for-an-organization
RepoPermission = Literal["read", "triage", "write", "maintain", "admin"]
REPO_PERMISSIONS: tuple[RepoPermission, ...] = ("read", "triage", "write", "maintain", "admin")


@dataclass(eq=False, kw_only=True)
class FakeUser:
    """A user account, a bot account (``type="Bot"``, login ending in ``[bot]``) or an organization."""

    id: int
    login: str
    type: UserType = "User"
    name: str | None = None
    email: str | None = None
    site_admin: bool = False


@dataclass(eq=False, kw_only=True)
class FakeMembership:
    """A person's membership in an organization: ``active``, or ``pending`` (invited, not accepted)."""

    user: FakeUser
    state: MembershipState = "active"
    role: Literal["member", "admin"] = "member"


@dataclass(eq=False, kw_only=True)
class FakeInvitation:
    id: int
    org: FakeOrg
    invitee: FakeUser
    inviter: FakeUser
    role: str = "direct_member"
    team_ids: list[int] = field(default_factory=list)
    created_at: float = 0.0


@dataclass(eq=False, kw_only=True)
class FakeOrg:
    """An organization. Its account (``account``) is a FakeUser of type Organization with the same id."""

    account: FakeUser
    description: str | None = None
    members: dict[int, FakeMembership] = field(default_factory=dict)  # keyed by user id
    invitations: list[FakeInvitation] = field(default_factory=list)
    # What every active member may do on the organization's repositories ("base permissions"; None:
    # no permission). "By default, members of an organization will have Read permissions":
    # https://docs.github.com/en/organizations/managing-user-access-to-your-organizations-repositories/managing-repository-roles/setting-base-permissions-for-an-organization
    default_repository_permission: RepoPermission | None = "read"

    @property
    def id(self) -> int:
        return self.account.id

    @property
    def login(self) -> str:
        return self.account.login


@dataclass(eq=False, kw_only=True)
class FakeRepo:
    id: int
    name: str
    owner: FakeUser  # a user account, or an organization's account
    org: FakeOrg | None = None  # set when the owner is an organization
    private: bool = False
    default_branch: str = "main"
    description: str | None = None
    created_at: float = 0.0
    collaborators: dict[int, RepoPermission] = field(default_factory=dict)  # by user id

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"


@dataclass(eq=False, kw_only=True)
class FakeComment:
    id: int
    repo: FakeRepo
    issue_number: int
    author: FakeUser
    body: str
    created_at: float = 0.0
    updated_at: float = 0.0
    reactions: list[tuple[FakeUser, str]] = field(default_factory=list)


@dataclass(eq=False, kw_only=True)
class FakeIssue:
    """An issue, or the issue half of a pull request (they share numbers, as on GitHub)."""

    id: int
    repo: FakeRepo
    number: int
    title: str
    body: str | None
    author: FakeUser
    state: Literal["open", "closed"] = "open"
    created_at: float = 0.0
    updated_at: float = 0.0
    closed_at: float | None = None
    comments: list[FakeComment] = field(default_factory=list)
    reactions: list[tuple[FakeUser, str]] = field(default_factory=list)
    is_pull_request: bool = False


@dataclass(eq=False, kw_only=True)
class FakePullRequest:
    issue: FakeIssue
    id: int
    head_ref: str = "feature"
    base_ref: str = "main"
    head_sha: str = "0" * 40
    merged: bool = False
    merged_by: FakeUser | None = None
    merged_at: float | None = None
    merge_commit_sha: str | None = None

    @property
    def repo(self) -> FakeRepo:
        return self.issue.repo

    @property
    def number(self) -> int:
        return self.issue.number

    @property
    def author(self) -> FakeUser:
        return self.issue.author


@dataclass(eq=False, kw_only=True)
class FakeInstallation:
    id: int
    account: FakeUser  # the user or organization the app is installed on
    permissions: dict[str, str] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    repository_selection: Literal["all", "selected"] = "all"
    created_at: float = 0.0


@dataclass(eq=False, kw_only=True)
class FakeDelivery:
    """One entry of the app's webhook delivery log (``GET /app/hook/deliveries``).

    ``guid`` is the ``X-GitHub-Delivery`` value, kept on redelivery; ``id`` is this attempt's id.
    """

    id: int
    guid: str
    event: str
    action: str | None
    installation_id: int | None
    repository_id: int | None
    payload: dict[str, Any]
    delivered_at: float
    status_code: int = 0  # 0 until an answer arrives; what the receiver answered otherwise
    status: str = "pending"  # GitHub's text: "OK", "Invalid HTTP Response: 503", ...
    duration: float = 0.0
    redelivery: bool = False
    throttled_at: float | None = None


@dataclass(kw_only=True)
class DeliveryExchange:
    """What went over the wire for one delivery attempt (GET /app/hook/deliveries/{id} shows it)."""

    request_headers: dict[str, str] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""


@dataclass(kw_only=True)
class RecordedRequest:
    """One request the fake received. ``headers`` are lowercased; ``authorization`` keeps only its scheme
    (``"Bearer"``, ``"token"``), never the credential. ``status`` is what the fake answered."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    time: float
    status: int | None = None
