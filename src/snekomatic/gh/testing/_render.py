"""REST JSON the payload builders (``_payloads``) do not cover: memberships, invitations, reactions.

Users, organizations, repositories, issues, pulls, comments and installations are rendered by the
``_payloads`` builders, so the fake's REST answers and its webhooks share one shape. ``api`` is the
fake's base URL (``http://127.0.0.1:PORT``), so ``url`` fields point back at the fake.
"""

from __future__ import annotations

from typing import Any

from snekomatic.gh.testing._model import FakeInvitation, FakeMembership, FakeOrg, FakeUser
from snekomatic.gh.testing._payloads import format_timestamp, node_id, org_json, user_json


def reaction_json(
    reaction_id: int, user: FakeUser, content: str, created_at: float, api: str
) -> dict[str, Any]:
    return {
        "id": reaction_id,
        "node_id": node_id("Reaction", reaction_id),
        "user": user_json(user, api_url=api),
        "content": content,
        "created_at": format_timestamp(created_at),
    }


def membership_json(org: FakeOrg, membership: FakeMembership, api: str) -> dict[str, Any]:
    return {
        "url": f"{api}/orgs/{org.login}/memberships/{membership.user.login}",
        "state": membership.state,
        "role": membership.role,
        "organization_url": f"{api}/orgs/{org.login}",
        "organization": org_json(org, api_url=api),
        "user": user_json(membership.user, api_url=api),
    }


def invitation_json(invitation: FakeInvitation, api: str) -> dict[str, Any]:
    org = invitation.org
    return {
        "id": invitation.id,
        "node_id": node_id("OrganizationInvitation", invitation.id),
        "login": invitation.invitee.login,
        "email": invitation.invitee.email,
        "role": invitation.role,
        "created_at": format_timestamp(invitation.created_at),
        "failed_at": None,
        "failed_reason": None,
        "inviter": user_json(invitation.inviter, api_url=api),
        "team_count": len(invitation.team_ids),
        "invitation_teams_url": f"{api}/organizations/{org.id}/invitations/{invitation.id}/teams",
        "invitation_source": "member",
    }
