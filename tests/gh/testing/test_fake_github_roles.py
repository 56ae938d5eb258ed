"""Who may write to the fake's repositories: owners, collaborators, members through the
organization's base permission (read unless set), and anyone reading a public repository."""

from __future__ import annotations

import pytest

from snekomatic.gh.testing import FakeGitHub, FakeOrg, FakeRepo, FakeUser, generate_private_key


def org_repo(*, private: bool = False) -> tuple[FakeGitHub, FakeOrg, FakeRepo]:
    fake = FakeGitHub(private_key=generate_private_key())
    org = fake.add_org("pit")
    return fake, org, fake.add_repo(org, "hiss", private=private)


def member(fake: FakeGitHub, org: FakeOrg, login: str, **kwargs: str) -> FakeUser:
    user = fake.add_user(login)
    fake.add_member(org, user, **kwargs)  # type: ignore[arg-type]
    return user


@pytest.mark.parametrize(
    ("role", "state", "expected"),
    [
        ("admin", "active", "admin"),
        ("member", "active", "read"),
        ("member", "pending", "read"),  # not a member yet: the public repository's read only
    ],
    ids=["owner", "member", "pending-member"],
)
def test_an_organization_grants_owners_admin_and_members_its_base_permission(
    role: str, state: str, expected: str
) -> None:
    fake, org, repo = org_repo()
    user = member(fake, org, "ada", role=role, state=state)
    assert fake.repository_permission(repo, user) == expected


def test_a_collaborator_holds_the_role_given() -> None:
    fake, org, repo = org_repo()
    guido = member(fake, org, "guido")
    fake.add_collaborator(repo, guido, permission="write")
    assert fake.repository_permission(repo, guido) == "write"
    assert fake.has_write_access(repo, guido)


def test_an_outsider_reads_a_public_repository_and_cannot_write() -> None:
    fake, _, repo = org_repo()
    zeke = fake.add_user("zeke")
    assert fake.repository_permission(repo, zeke) == "read"
    assert not fake.has_write_access(repo, zeke)


def test_an_outsider_has_no_access_to_a_private_repository() -> None:
    fake, _, repo = org_repo(private=True)
    assert fake.repository_permission(repo, fake.add_user("zeke")) is None


def test_a_base_permission_of_write_lets_every_active_member_write() -> None:
    fake, org, repo = org_repo()
    org.default_repository_permission = "write"
    assert fake.has_write_access(repo, member(fake, org, "bea"))


def test_the_owner_of_a_personal_repository_is_its_admin() -> None:
    fake = FakeGitHub(private_key=generate_private_key())
    owner = fake.add_user("ada")
    repo = fake.add_repo(owner, "notes")
    assert fake.repository_permission(repo, owner) == "admin"
