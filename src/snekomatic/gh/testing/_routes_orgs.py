"""Routes for users, organizations, memberships and invitations."""

from __future__ import annotations

from starlette.routing import Route

from snekomatic.gh.testing._model import FakeOrg, FakeUser
from snekomatic.gh.testing._payloads import org_json, user_json
from snekomatic.gh.testing._pipeline import Call, api_route
from snekomatic.gh.testing._render import invitation_json, membership_json
from snekomatic.gh.testing._replies import (
    ApiError,
    Reply,
    not_found,
    paginate,
    validation_failed,
)
from snekomatic.gh.testing._state import FakeGitHubState

DAY_SECONDS = 24 * 3600.0
ALREADY_MEMBER = "Invitee is already a part of this organization"
OVER_LIMIT = "Over invitation rate limit"
INVITATION_ROLES = ("admin", "direct_member", "billing_manager", "reinstate")


def _org(call: Call) -> FakeOrg:
    org = call.fake.orgs.get(call.path_params["org"].lower())
    if org is None:
        raise not_found()
    return org


def _user(call: Call, login: str) -> FakeUser:
    user = call.fake.users.get(login.lower())
    if user is None:
        raise not_found()
    return user


def _inviter(call: Call) -> FakeUser:
    # Invitations made with an installation token are made by the app's bot account.
    return call.fake.bot


async def get_user(call: Call) -> Reply:
    user = _user(call, call.path_params["username"])
    body = user_json(user, api_url=call.api)
    body.update({"name": user.name, "email": user.email})
    return Reply(200, body)


async def get_org(call: Call) -> Reply:
    org = _org(call)
    return Reply(200, org_json(org, api_url=call.api))


async def list_members(call: Call) -> Reply:
    org = _org(call)
    call.check_access(org.account, permission="members")
    members = [m.user for m in org.members.values() if m.state == "active"]
    page, headers = paginate(
        [user_json(u, api_url=call.api) for u in members], url=call.url, query=call.query
    )
    return Reply(200, page, headers)


async def check_member(call: Call) -> Reply:
    org = _org(call)
    call.check_access(org.account, permission="members")
    user = _user(call, call.path_params["username"])
    if call.fake.membership_state(org, user) != "active":
        raise not_found()
    return Reply(204)


async def get_membership(call: Call) -> Reply:
    org = _org(call)
    call.check_access(org.account, permission="members", private=True)
    user = _user(call, call.path_params["username"])
    membership = org.members.get(user.id)
    if membership is None:
        raise not_found()
    return Reply(200, membership_json(org, membership, call.api))


def _check_invitable(call: Call, org: FakeOrg, invitee: FakeUser) -> None:
    """GitHub's 422s: already a member or invited, or over the organization's daily invitation limit."""
    if invitee.id in org.members:
        raise validation_failed(
            "OrganizationInvitation", code="unprocessable", field="data", message=ALREADY_MEMBER
        )
    recent = [i for i in org.invitations if i.created_at > call.now - DAY_SECONDS]
    if len(recent) >= call.fake.invitation_daily_limit:
        raise validation_failed(
            "OrganizationInvitation", code="unprocessable", field="data", message=OVER_LIMIT
        )


async def set_membership(call: Call) -> Reply:
    org = _org(call)
    call.check_access(org.account, permission="members", private=True, write=True)
    user = _user(call, call.path_params["username"])
    role = call.body_field("role") or "member"
    if role not in ("member", "admin"):
        raise validation_failed("Membership", code="invalid", field="role")
    membership = org.members.get(user.id)
    if membership is None:
        _check_invitable(call, org, user)
        call.fake.invite(
            org, user, inviter=_inviter(call), role="admin" if role == "admin" else "direct_member"
        )
        membership = org.members[user.id]
    else:
        membership.role = "admin" if role == "admin" else "member"
    return Reply(200, membership_json(org, membership, call.api))


async def create_invitation(call: Call) -> Reply:
    org = _org(call)
    call.check_access(org.account, permission="members", private=True, write=True)
    invitee_id = call.body_field("invitee_id")
    email = call.body_field("email")
    role = call.body_field("role") or "direct_member"
    team_ids = call.body_field("team_ids") or []
    if role not in INVITATION_ROLES:
        raise validation_failed("OrganizationInvitation", code="invalid", field="role")
    if not isinstance(team_ids, list) or not all(isinstance(t, int) for t in team_ids):
        raise validation_failed("OrganizationInvitation", code="invalid", field="team_ids")
    invitee: FakeUser | None = None
    if isinstance(invitee_id, int) and not isinstance(invitee_id, bool):
        invitee = next((u for u in call.fake.users.values() if u.id == invitee_id), None)
        if invitee is None or invitee.type != "User":
            raise validation_failed("OrganizationInvitation", code="invalid", field="invitee_id")
    elif isinstance(email, str):
        # The fake models invitations of existing accounts only: an email must belong to a known user.
        invitee = next((u for u in call.fake.users.values() if u.email == email), None)
        if invitee is None:
            raise validation_failed("OrganizationInvitation", code="invalid", field="email")
    else:
        raise ApiError(422, 'Invalid request.\n\n"invitee_id" or "email" is required.')
    _check_invitable(call, org, invitee)
    invitation = call.fake.invite(
        org, invitee, inviter=_inviter(call), role=role, team_ids=team_ids
    )
    return Reply(201, invitation_json(invitation, call.api))


async def list_invitations(call: Call) -> Reply:
    org = _org(call)
    call.check_access(org.account, permission="members", private=True)
    pending = [
        i
        for i in org.invitations
        if (m := org.members.get(i.invitee.id)) is not None and m.state == "pending"
    ]
    page, headers = paginate(
        [invitation_json(i, call.api) for i in pending], url=call.url, query=call.query
    )
    return Reply(200, page, headers)


def routes(fake: FakeGitHubState) -> list[Route]:
    return [
        api_route(fake, "GET", "/users/{username}", get_user, auth="any"),
        api_route(fake, "GET", "/orgs/{org}", get_org, auth="installation"),
        api_route(fake, "GET", "/orgs/{org}/members", list_members, auth="installation"),
        api_route(fake, "GET", "/orgs/{org}/members/{username}", check_member, auth="installation"),
        api_route(
            fake, "GET", "/orgs/{org}/memberships/{username}", get_membership, auth="installation"
        ),
        api_route(
            fake, "PUT", "/orgs/{org}/memberships/{username}", set_membership, auth="installation"
        ),
        api_route(fake, "POST", "/orgs/{org}/invitations", create_invitation, auth="installation"),
        api_route(fake, "GET", "/orgs/{org}/invitations", list_invitations, auth="installation"),
    ]
