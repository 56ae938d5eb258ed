"""FakeGitHub: the fake's state, served: what it sends (webhooks), mints (tokens) and answers (ASGI)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from snekomatic.gh.testing import _access, _actions, _deliveries
from snekomatic.gh.testing._auth import AppCaller, Caller, InstallationCaller
from snekomatic.gh.testing._model import (
    FakeComment,
    FakeDelivery,
    FakeInstallation,
    FakePullRequest,
    FakeRepo,
    FakeUser,
)
from snekomatic.gh.testing._ratelimit import RateWindow
from snekomatic.gh.testing._routes import build_app
from snekomatic.gh.testing._state import FakeGitHubState

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.routing import BaseRoute


class FakeGitHub(FakeGitHubState):
    """A stateful fake of GitHub's REST API for one GitHub App; serve it with ``serve_fake_github``.

    State lives in plain records (``_model``); tests arrange it with the ``add_*`` / ``install`` /
    ``open_*`` helpers and assert on it afterwards. ``clock`` gives the fake's wall-clock time (epoch
    seconds), and ``clock_skew`` is added to it, to model a GitHub whose clock differs from the client's.
    ``private_key`` and ``webhook_secret`` are secrets: they are never logged or shown in ``repr``.
    """

    @cached_property
    def asgi(self) -> Starlette:
        """The fake as an ASGI app (for ``httpx.ASGITransport`` or any ASGI server), built once: a
        Starlette application, so a tool built on the fake may add middleware before it serves."""
        return build_app(self)

    def add_routes(self, routes: Iterable[BaseRoute]) -> None:
        """Serve ``routes`` (Starlette routes) too, matched before the fake's own, which end in a
        catch-all 404: the pages and endpoints of a tool built on the fake, such as ``snekomatic
        dev``'s GitHub simulator. They answer as they are written: their requests are not recorded,
        rate limited or faulted like the API's. Effective from the next request, served or not.
        """
        self.asgi.router.routes[:0] = list(routes)

    # -- what people do on GitHub, and the webhooks it sends ----------------------------------------

    async def merge_pull_request(
        self, pr: FakePullRequest, *, merged_by: FakeUser
    ) -> FakeDelivery | None:
        """Merge ``pr`` and emit ``pull_request.closed`` (merged) to the webhook URL.

        Returns the delivery logged, or None when the app is not installed on the repository's owner
        (GitHub sends the app nothing then). Waits for the webhook's answer: see ``emit_webhook``.
        """
        return await _actions.merge_pull_request(self, pr, merged_by=merged_by)

    async def add_comment(
        self, repo: FakeRepo, number: int, *, author: FakeUser, body: str
    ) -> FakeComment:
        """A comment by ``author`` on issue or pull request ``number``, then ``issue_comment.created``
        is emitted (when the app is installed on the repository's owner). Waits for the webhook's answer.
        """
        return await _actions.add_comment(self, repo, number, author=author, body=body)

    async def put_file(
        self, repo: FakeRepo, path: str, text: str | None, *, pusher: FakeUser | None = None
    ) -> FakeDelivery | None:
        """Commit ``path`` (UTF-8 ``text``; None removes it, KeyError if absent) to the default branch
        by ``pusher`` and emit ``push``. Returns the delivery, or None when the app is not installed on
        the repository's owner. Waits for the webhook's answer: see ``emit_webhook``."""
        return await _actions.put_file(self, repo, path, text, pusher=pusher)

    async def emit_webhook(
        self,
        event: str,
        payload: dict[str, Any],
        *,
        installation: FakeInstallation | None,
        repo: FakeRepo | None = None,
    ) -> FakeDelivery:
        """Log a delivery of ``payload`` and, when ``webhook_url`` is set, send it and wait for the answer.

        The answer's status is recorded on the returned delivery; a connection failure records
        ``status_code`` 0. A checkpoint; cancelling it leaves the delivery logged as ``pending``.
        """
        return await _deliveries.emit(self, event, payload, installation=installation, repo=repo)

    # -- credentials and limits ------------------------------------------------------------------

    def mint_token(self, installation: FakeInstallation) -> str:
        """A fresh installation token, as ``POST /app/installations/{id}/access_tokens`` would mint,
        valid for ``token_lifetime`` seconds of the fake's clock. The token is a secret."""
        token, _ = _access.mint_token(self, installation, self.now())
        return token

    def rate_window(
        self, installation: FakeInstallation | None, resource: str = "core"
    ) -> RateWindow:
        """The live rate-limit window of ``installation`` (None: the app's JWT window); tests may set
        ``used`` on it to exhaust the limit."""
        caller: Caller = (
            InstallationCaller(installation) if installation is not None else AppCaller()
        )
        return _access.rate_window(self, caller, resource, self.now())
