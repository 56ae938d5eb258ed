"""snekomatic.gh.testing: a stateful fake GitHub on loopback, for tests, bot authors and local dev.

Most tests want a whole world: the fake served, an organization with a GitHub App installed on it, a
:class:`~snekomatic.gh.GitHubApp` for that app, and one clock for both (:func:`open_github_world`)::

    async with open_github_world() as world:
        world.fake.add_repo(world.org, "widget")
        repo = await world.client.getitem("/repos/octo-org/widget")  # as the installation

The fake alone: start it inside a nursery (or an anyio task group) and point a client at the URL it
reports::

    fake = FakeGitHub(app_id=1, private_key=generate_private_key())
    org = fake.add_org("python-trio")
    fake.install(org)
    async with trio.open_nursery() as nursery:
        base_url = await nursery.start(serve_fake_github, fake)
        ...
        nursery.cancel_scope.cancel()

``fake.asgi`` is the same fake as an ASGI app, for ``httpx.ASGITransport``; ``fake.add_routes(routes)``
serves a tool's own pages beside the API; :func:`serve_asgi` serves anything else the fake talks to
(a webhook receiver). ``fake_github_thread(fake)`` serves it from a thread of its own, for programs
whose event loop is busy elsewhere (a soak, a load generator, a module of tests sharing one server).
:class:`FakeClock` is the wall clock the fake, the app and the bot share in a test.
"""

from snekomatic.gh.testing._clock import FakeClock as FakeClock
from snekomatic.gh.testing._fake import FakeGitHub as FakeGitHub
from snekomatic.gh.testing._faults import FaultKind as FaultKind
from snekomatic.gh.testing._faults import RandomFault as RandomFault
from snekomatic.gh.testing._keys import generate_private_key as generate_private_key
from snekomatic.gh.testing._model import FakeComment as FakeComment
from snekomatic.gh.testing._model import FakeDelivery as FakeDelivery
from snekomatic.gh.testing._model import FakeInstallation as FakeInstallation
from snekomatic.gh.testing._model import FakeInvitation as FakeInvitation
from snekomatic.gh.testing._model import FakeIssue as FakeIssue
from snekomatic.gh.testing._model import FakeMembership as FakeMembership
from snekomatic.gh.testing._model import FakeOrg as FakeOrg
from snekomatic.gh.testing._model import FakePullRequest as FakePullRequest
from snekomatic.gh.testing._model import FakeRepo as FakeRepo
from snekomatic.gh.testing._model import FakeUser as FakeUser
from snekomatic.gh.testing._model import RecordedRequest as RecordedRequest
from snekomatic.gh.testing._payloads import installation_payload as installation_payload
from snekomatic.gh.testing._payloads import issue_comment_payload as issue_comment_payload
from snekomatic.gh.testing._payloads import issues_payload as issues_payload
from snekomatic.gh.testing._payloads import ping_payload as ping_payload
from snekomatic.gh.testing._payloads import pull_request_payload as pull_request_payload
from snekomatic.gh.testing._serve import serve_asgi as serve_asgi
from snekomatic.gh.testing._serve import serve_fake_github as serve_fake_github
from snekomatic.gh.testing._thread import FakeGitHubThread as FakeGitHubThread
from snekomatic.gh.testing._thread import fake_github_thread as fake_github_thread
from snekomatic.gh.testing._world import GitHubWorld as GitHubWorld
from snekomatic.gh.testing._world import open_github_world as open_github_world
from snekomatic.gh.webhook_sender import build_webhook_request as build_webhook_request
from snekomatic.gh.webhook_sender import send_webhook as send_webhook

__all__ = [
    "FakeClock",
    "FakeComment",
    "FakeDelivery",
    "FakeGitHub",
    "FakeGitHubThread",
    "FakeInstallation",
    "FakeInvitation",
    "FakeIssue",
    "FakeMembership",
    "FakeOrg",
    "FakePullRequest",
    "FakeRepo",
    "FakeUser",
    "FaultKind",
    "GitHubWorld",
    "RandomFault",
    "RecordedRequest",
    "build_webhook_request",
    "fake_github_thread",
    "generate_private_key",
    "installation_payload",
    "issue_comment_payload",
    "issues_payload",
    "open_github_world",
    "ping_payload",
    "pull_request_payload",
    "send_webhook",
    "serve_asgi",
    "serve_fake_github",
]
