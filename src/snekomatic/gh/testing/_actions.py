"""What a person does on GitHub that makes it send the app a webhook: merging, commenting, pushing.

Each changes the fake's state as GitHub would, then emits the webhook GitHub would send (when the app
is installed on the repository's owner) and waits for its answer. Functions over the fake's state, so
that the routes can act as a person does; :class:`~snekomatic.gh.testing.FakeGitHub` offers them as
methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from snekomatic.gh.testing import _deliveries
from snekomatic.gh.testing._files import push_payload
from snekomatic.gh.testing._model import (
    FakeComment,
    FakeDelivery,
    FakePullRequest,
    FakeRepo,
    FakeUser,
)
from snekomatic.gh.testing._payloads import issue_comment_payload, pull_request_payload

if TYPE_CHECKING:
    from snekomatic.gh.testing._state import FakeGitHubState


async def merge_pull_request(
    fake: FakeGitHubState, pr: FakePullRequest, *, merged_by: FakeUser
) -> FakeDelivery | None:
    """:meth:`~snekomatic.gh.testing.FakeGitHub.merge_pull_request` on ``fake``."""
    fake.mark_merged(pr, merged_by=merged_by)
    installation = fake.installation_for(pr.repo.owner)
    if installation is None:
        return None
    payload = pull_request_payload(
        pr,
        action="closed",
        sender=merged_by,
        installation=installation,
        api_url=fake.api_url(),
    )
    return await _deliveries.emit(
        fake, "pull_request", payload, installation=installation, repo=pr.repo
    )


async def add_comment(
    fake: FakeGitHubState, repo: FakeRepo, number: int, *, author: FakeUser, body: str
) -> FakeComment:
    """:meth:`~snekomatic.gh.testing.FakeGitHub.add_comment` on ``fake``."""
    comment = fake.create_comment(repo, number, author=author, body=body)
    installation = fake.installation_for(repo.owner)
    if installation is not None:
        issue = fake.issues[(repo.id, number)]
        payload = issue_comment_payload(
            comment,
            issue,
            action="created",
            sender=author,
            installation=installation,
            pull_request=fake.pulls.get((repo.id, number)),
            api_url=fake.api_url(),
        )
        await _deliveries.emit(fake, "issue_comment", payload, installation=installation, repo=repo)
    return comment


async def put_file(
    fake: FakeGitHubState,
    repo: FakeRepo,
    path: str,
    text: str | None,
    *,
    pusher: FakeUser | None = None,
) -> FakeDelivery | None:
    """:meth:`~snekomatic.gh.testing.FakeGitHub.put_file` on ``fake``."""
    author = pusher or fake.bot
    content = None if text is None else text.encode()
    commit = fake.contents.write(repo, path, content, author=author, now=fake.now())
    installation = fake.installation_for(repo.owner)
    if installation is None:
        return None
    payload = push_payload(
        repo, commit, pusher=author, installation=installation, api_url=fake.api_url()
    )
    return await _deliveries.emit(fake, "push", payload, installation=installation, repo=repo)
