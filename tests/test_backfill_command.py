"""``snekomatic backfill`` run as a real process against a served fake GitHub, on both databases.

The command runs standalone (``python -c "...backfill()"``), so these tests do not depend on its
registration in :mod:`snekomatic.cli`; the process, settings and exit codes are the real ones.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio

from snekomatic.gh.testing import FakeGitHub, FakeOrg, GitHubWorld
from snekomatic.store import Store, run_sync
from tests.test_cli import run_async

COMMAND = [
    sys.executable,
    "-c",
    "from snekomatic.cli import backfill; backfill(prog_name='snekomatic backfill')",
]


@dataclass
class Served:
    fake: FakeGitHub
    org: FakeOrg
    env: dict[str, str]

    async def backfill(self, *args: str, cwd: Path) -> tuple[int, str, str]:
        with trio.fail_after(120):
            result = await run_async([*COMMAND, *args], cwd, **self.env)
        return result.returncode, result.stdout.decode(), result.stderr.decode()

    def writes(self) -> list[str]:
        return [
            f"{r.method} {r.path}"
            for r in self.fake.requests
            if r.method in ("POST", "PUT", "PATCH", "DELETE")
            and not r.path.endswith("/access_tokens")
        ]

    def invitees(self) -> list[str]:
        return [invitation.invitee.login for invitation in self.fake.invitations_for(self.org)]


@pytest.fixture
def world_clock() -> Callable[[], float]:
    return time.time  # the command signs its JWTs on this machine's clock


@pytest.fixture
async def served(migrated_database: str, github_world: GitHubWorld) -> Served:
    """octo-org with two repositories: zeke's merge in widget, ada's in gadget, a member's, a bot's."""
    fake, org = github_world.fake, github_world.org
    maintainer = fake.add_user("maintainer")
    fake.add_member(org, maintainer)
    widget, gadget = fake.add_repo(org, "widget"), fake.add_repo(org, "gadget")
    merges = [
        (fake.add_user("zeke"), widget),
        (fake.add_user("ada"), gadget),
        (maintainer, gadget),
        (fake.add_user("dependabot[bot]", type="Bot"), widget),
    ]
    for author, repo in merges:
        await fake.merge_pull_request(
            fake.open_pull_request(repo, author=author), merged_by=maintainer
        )
    env = {"DATABASE_URL": migrated_database, **github_world.app_environ()}
    return Served(fake, org, env)


async def test_backfill_invites_and_prints_the_summary(
    served: Served, store: Store, tmp_path: Path
) -> None:
    status, out, err = await served.backfill("--org", "octo-org", cwd=tmp_path)
    assert status == 0, err
    assert served.invitees() == ["zeke", "ada"]
    lines = out.splitlines()
    for expected in [
        "repositories walked: 2",
        "merged pull requests seen: 4",
        "invited: 2 (zeke, ada)",
        "already members: 1",
        "skipped (bots, excluded, configuration): 1",
    ]:
        assert expected in lines, out
    assert served.env["GITHUB_WEBHOOK_SECRET"] not in out + err and "PRIVATE KEY" not in out + err


async def test_dry_run_lists_who_would_be_invited_and_changes_nothing(
    served: Served, store: Store, tmp_path: Path
) -> None:
    status, out, err = await served.backfill("--org", "octo-org", "--dry-run", cwd=tmp_path)
    assert status == 0, err
    assert "would invite: 2 (zeke, ada)" in out.splitlines()
    assert served.writes() == []
    assert await run_sync(store.list_invitations, None) == []


async def test_since_after_every_merge_leaves_them_all_out(
    served: Served, store: Store, tmp_path: Path
) -> None:
    status, out, err = await served.backfill(
        "--org", "octo-org", "--since", "2999-01-01", cwd=tmp_path
    )
    assert status == 0, err
    assert "merged pull requests seen: 0" in out.splitlines()
    assert served.invitees() == []


async def test_a_failing_run_says_so_in_one_line_and_the_next_run_finishes(
    served: Served, store: Store, tmp_path: Path
) -> None:
    served.fake.inject_fault("POST", "/orgs/*/invitations", kind="server_error", times=20)
    status, _, err = await served.backfill("--org", "octo-org", cwd=tmp_path)
    assert status == 1
    (line,) = err.strip().splitlines()
    assert line.startswith("snekomatic: backfill stopped: ServerError"), err
    assert "run the same command again" in line
    served.fake.faults.clear()
    status, _, err = await served.backfill("--org", "octo-org", cwd=tmp_path)
    assert status == 0, err
    assert served.invitees() == ["zeke", "ada"]


async def test_an_organization_without_the_app_is_refused_in_one_line(
    served: Served, store: Store, tmp_path: Path
) -> None:
    served.fake.add_org("nowhere")
    status, _, err = await served.backfill("--org", "nowhere", cwd=tmp_path)
    assert status == 2
    assert err.strip() == "snekomatic: the app is not installed on the organization 'nowhere'"
