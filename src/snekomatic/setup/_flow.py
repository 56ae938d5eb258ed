"""``snekomatic setup``: register the GitHub App from ``app.yml`` with GitHub's App Manifest flow.

https://docs.github.com/en/apps/sharing-github-apps/registering-a-github-app-from-a-manifest

1. A local page on ``http://127.0.0.1:PORT/`` holds a form that POSTs ``manifest=<json>`` to
   ``{github_url}/settings/apps/new?state=<random>`` (``/organizations/{org}/settings/apps/new`` for an
   organization's app). The person presses the button, then names and confirms the app on GitHub.
2. GitHub redirects the browser to the manifest's ``redirect_url``, our ``/redirect``, with ``code`` and
   ``state``. A ``state`` other than ours is refused (400) and nothing happens: the request did not come
   from the page we served.
3. The code is exchanged once, with ``POST {api_url}/app-manifests/{code}/conversions`` (no credentials),
   for the app's id, slug, private key and webhook secret; they are written to the env file (mode 0600,
   never world-readable, not even while it is being written), and the local server stops.

Secrets (the private key, the webhook secret) go to the env file only: never to the output, a log, an
exception message or the browser.
"""

from __future__ import annotations

import html
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Final

import trio
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from snekomatic.gh import GitHubClient, GitHubError, RetryPolicy
from snekomatic.gh.client import new_http_client
from snekomatic.runtime import serve_http
from snekomatic.setup._manifest import (
    SetupError,
    build_manifest,
    load_manifest_template,
    new_app_url,
    start_page_html,
)
from snekomatic.webpage import webpage

__all__ = [
    "CreatedApp",
    "SetupError",
    "SetupOptions",
    "env_file_entries",
    "env_file_text",
    "exchange_code",
    "run_setup",
    "write_env_file",
    "written_names",
]

DEFAULT_GITHUB_URL: Final = "https://github.com"
DEFAULT_API_URL: Final = "https://api.github.com"
REDIRECT_PATH: Final = "/redirect"
USER_AGENT: Final = "snekomatic-setup"
_CODE: Final = re.compile(r"[A-Za-z0-9_-]{1,200}")


@dataclass(frozen=True, kw_only=True)
class SetupOptions:
    """What ``snekomatic setup`` was asked for. ``port`` 0: any free port on 127.0.0.1."""

    manifest_path: Path
    env_file: Path = Path(".env")
    github_url: str = DEFAULT_GITHUB_URL
    api_url: str = DEFAULT_API_URL
    org: str | None = None
    name: str | None = None
    webhook_url: str | None = None
    port: int = 0
    force: bool = False


@dataclass(frozen=True, kw_only=True)
class CreatedApp:
    """The app GitHub created, and where its credentials were written. ``repr`` shows no secret."""

    app_id: int
    slug: str
    html_url: str
    env_file: Path
    pem: str = field(repr=False)
    webhook_secret: str = field(repr=False)

    @property
    def install_url(self) -> str:
        """Where the app is installed on an account or organization."""
        return f"{self.html_url}/installations/new"


# --- the credentials -------------------------------------------------------------------------------


# python-dotenv (behind pydantic-settings) expands ${NAME} in every value, quoted or not, and decodes
# only \\ and \' inside single quotes. So values are single-quoted with those two escaped, and a value
# holding "${" or a line break is refused rather than written wrong.
_PEM_TEXT: Final = re.compile(r"[A-Za-z0-9+/= \n-]+")


def _dotenv_value(value: str) -> str:
    if "${" in value or "\n" in value or "\r" in value:
        raise SetupError("GitHub sent a value that cannot be written to an env file safely")
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _dotenv_pem(pem: str) -> str:
    # One line with literal "\n" (single quotes keep them); snekomatic.runtime.Settings turns them back into
    # line breaks, as it does for Heroku config vars.
    pem = pem.replace("\r\n", "\n")
    if _PEM_TEXT.fullmatch(pem) is None:
        raise SetupError("GitHub sent a private key that is not PEM text")
    return "'" + pem.replace("\n", "\\n") + "'"


def env_file_entries(app: CreatedApp, *, api_url: str) -> list[tuple[str, str]]:
    """The settings written for ``app``, as (name, env file value) pairs (the values hold the
    secrets). ``GITHUB_API_URL`` only when not GitHub.com's. Raises :class:`SetupError` for a value
    that cannot be written safely. Pure."""
    entries = [
        ("GITHUB_APP_ID", str(app.app_id)),
        ("GITHUB_PRIVATE_KEY", _dotenv_pem(app.pem)),
        ("GITHUB_WEBHOOK_SECRET", _dotenv_value(app.webhook_secret)),
        ("GITHUB_USER_AGENT", _dotenv_value(app.slug)),
    ]
    if api_url.rstrip("/") != DEFAULT_API_URL:
        entries.append(("GITHUB_API_URL", _dotenv_value(api_url.rstrip("/"))))
    return entries


def env_file_text(app: CreatedApp, *, api_url: str) -> str:
    """The env file's contents for ``app``: :func:`env_file_entries` under a warning. Pure."""
    lines = [
        f"# Written by `snekomatic setup` for the GitHub App {app.slug} ({app.html_url}).",
        "# It holds the app's private key and webhook secret: keep it private, never commit it.",
        *(f"{name}={value}" for name, value in env_file_entries(app, api_url=api_url)),
    ]
    return "\n".join(lines) + "\n"


def written_names(app: CreatedApp, *, api_url: str) -> str:
    """The names of the settings written for ``app``, as a phrase: ``"A, B and C"``. Pure."""
    names = [name for name, _ in env_file_entries(app, api_url=api_url)]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _write_new_file(path: Path, text: str) -> None:
    # O_EXCL: never follow or reuse an existing file; 0o600 from the first byte (umask can only remove
    # bits; fchmod then makes it exactly 0600).
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            fd = -1
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        if fd != -1:
            os.close(fd)
        path.unlink(missing_ok=True)
        raise


def write_env_file(path: Path, text: str, *, force: bool) -> None:
    """Create ``path`` holding ``text`` with mode 0600. An existing file raises :class:`SetupError`
    unless ``force``, which replaces it atomically (a fresh 0600 file renamed over it, so the old
    file's mode is not inherited). Blocking file I/O; not a checkpoint."""
    try:
        if not force:
            _write_new_file(path, text)
            return
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        _write_new_file(temporary, text)
        try:
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    except FileExistsError:
        raise SetupError(f"{path} exists; pass --force to replace it") from None
    except OSError as exc:
        raise SetupError(f"cannot write {path}: {exc.strerror}") from None


def _created_app(answer: Any, env_file: Path) -> CreatedApp:
    if not isinstance(answer, dict):
        raise SetupError("GitHub's answer to the code exchange is not a JSON object")
    app_id, slug, pem = answer.get("id"), answer.get("slug"), answer.get("pem")
    secret, html_url = answer.get("webhook_secret"), answer.get("html_url")
    if not (
        isinstance(app_id, int)
        and isinstance(slug, str)
        and isinstance(html_url, str)
        and isinstance(pem, str)
        and "PRIVATE KEY-----" in pem
        and isinstance(secret, str)
        and secret
    ):
        raise SetupError("GitHub's answer to the code exchange lacks the app's id or credentials")
    return CreatedApp(
        app_id=app_id,
        slug=slug,
        html_url=html_url.rstrip("/"),
        env_file=env_file,
        pem=pem,
        webhook_secret=secret,
    )


async def exchange_code(options: SetupOptions, code: str) -> CreatedApp:
    """``POST {api_url}/app-manifests/{code}/conversions``: the new app and its credentials.

    Raises :class:`SetupError` when GitHub refuses (a code is good once, for an hour) or cannot be
    reached. A checkpoint; cancelling it abandons the request (the code may then be spent).
    """
    async with new_http_client() as http:
        client = GitHubClient(
            http,
            base_url=options.api_url,
            user_agent=USER_AGENT,
            retry=RetryPolicy(max_retries=2),
        )
        try:
            answer = await client.post("/app-manifests/{code}/conversions", {"code": code})
        except GitHubError as exc:
            raise SetupError(
                f"GitHub did not hand over the new app's credentials ({exc}). The code may be "
                "spent or expired: delete the half-made app in your GitHub settings and run "
                "`snekomatic setup` again."
            ) from None
    return _created_app(answer, options.env_file)


# --- the local server ------------------------------------------------------------------------------

Echo = Callable[[str], object]


@dataclass(kw_only=True)
class _Session:
    """One run of the flow: what the local pages need, and how it ended."""

    options: SetupOptions
    template: Mapping[str, Any]
    state: str
    done: trio.Event = field(default_factory=trio.Event)
    manifest: dict[str, Any] | None = None
    claimed: bool = False
    created: CreatedApp | None = None
    error: SetupError | None = None


async def _set_event(event: trio.Event) -> None:
    # Async on purpose: Starlette runs a sync background function in a worker thread.
    event.set()


def _page(
    title: str, body: str, *, status: int = 200, finish: trio.Event | None = None
) -> Response:
    """A page of the setup, in the look of snekomatic's pages; ``body`` is HTML."""
    text = webpage(
        title, f"<section>{body}</section>", intro="snekomatic setup: creating the GitHub App"
    )
    # The server stops only once this answer is sent (a background task runs after the response).
    background = BackgroundTask(_set_event, finish) if finish is not None else None
    return HTMLResponse(text, status_code=status, background=background)


async def _receive_code(session: _Session, code: str) -> CreatedApp:
    options = session.options
    created = await exchange_code(options, code)
    text = env_file_text(created, api_url=options.api_url)
    write_env_file(options.env_file, text, force=options.force)
    return created


def _local_app(session: _Session) -> Starlette:
    async def start(request: Request) -> Response:
        if session.manifest is None:
            return _page("Not ready yet", "<p>Reload in a moment.</p>", status=503)
        action = new_app_url(
            session.options.github_url, org=session.options.org, state=session.state
        )
        return HTMLResponse(start_page_html(action=action, manifest=session.manifest))

    async def redirect(request: Request) -> Response:
        state = request.query_params.get("state", "")
        if not secrets.compare_digest(state.encode(), session.state.encode()):
            return _page(
                "Refused",
                "<p>This redirect does not carry the state of the page snekomatic served; "
                "it was refused and nothing was written.</p>",
                status=400,
            )
        code = request.query_params.get("code", "")
        if _CODE.fullmatch(code) is None:
            return _page("Refused", "<p>The redirect carries no valid code.</p>", status=400)
        if session.claimed:
            return _page(
                "Already done", "<p>This setup has already received its code.</p>", status=409
            )
        session.claimed = True
        try:
            created = await _receive_code(session, code)
        except SetupError as exc:
            session.error = exc
            return _page(
                "The app's credentials were not saved",
                f"<p>{html.escape(str(exc))}</p>",
                status=502,
                finish=session.done,
            )
        session.created = created
        install = html.escape(created.install_url, quote=True)
        names = written_names(created, api_url=session.options.api_url)
        return _page(
            f"Created the GitHub App {created.slug}",
            f"<p>Wrote {html.escape(names)} to <code>{html.escape(str(created.env_file))}</code> "
            "(mode 0600; keep it private).</p>"
            "<p>The app is installed nowhere yet. Next, "
            f'<a href="{install}" data-testid="install-link">install it</a> on your organization.</p>',
            finish=session.done,
        )

    return Starlette(
        routes=[
            Route("/", start, methods=["GET"]),
            Route(REDIRECT_PATH, redirect, methods=["GET"]),
        ],
        # Only requests addressed to the loopback name reach the pages (no DNS rebinding).
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost"])],
    )


async def run_setup(
    options: SetupOptions,
    *,
    echo: Echo,
    open_browser: Callable[[str], object] | None = None,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> CreatedApp:
    """Run the manifest flow until the app's credentials are written, and return the app.

    Serves the start page on 127.0.0.1 (reports its URL through ``task_status`` and ``echo``, and opens
    it with ``open_browser`` in a thread when given), waits for GitHub's redirect, exchanges the code,
    writes ``options.env_file`` (0600) and stops serving. ``echo`` receives progress lines, never a
    secret.

    Raises :class:`SetupError` before serving if the manifest template is unusable or the env file
    exists (without ``force``), and after a redirect whose code GitHub refuses to exchange or whose
    credentials cannot be written. A redirect with a wrong ``state`` is answered 400 and waited past.
    Cancellation stops the server; nothing is written unless the exchange had already finished.
    """
    template = load_manifest_template(options.manifest_path)
    build_manifest(template, redirect_url="http://127.0.0.1/", name=options.name)  # checks the name
    if options.env_file.exists() and not options.force:
        raise SetupError(f"{options.env_file} exists; pass --force to replace it")
    session = _Session(options=options, template=template, state=secrets.token_urlsafe(32))
    try:
        async with trio.open_nursery() as nursery:
            urls = await nursery.start(
                partial(
                    serve_http,
                    _local_app(session),
                    host="127.0.0.1",
                    port=options.port,
                    shutdown_trigger=session.done.wait,
                    graceful_timeout=2.0,
                )
            )
            base = urls[0].rstrip("/")
            session.manifest = build_manifest(
                template,
                redirect_url=base + REDIRECT_PATH,
                name=options.name,
                webhook_url=options.webhook_url,
            )
            start_url = base + "/"
            echo(
                f"Open {start_url} in your browser and press the button to create the app on GitHub."
            )
            if options.webhook_url is None:
                echo(
                    f"The webhook URL is a placeholder ({session.manifest['hook_attributes']['url']}): "
                    "once the bot is deployed, set https://<your host>/webhook/github in the app's "
                    "settings; `snekomatic redeliver` resends what failed in between."
                )
            if open_browser is not None:
                opened = await trio.to_thread.run_sync(open_browser, start_url)
                if not opened:
                    echo("(No browser could be opened; open the URL above yourself.)")
            task_status.started(start_url)
    except ExceptionGroup as group:
        # The server could not listen (port taken, say): one clear error instead of a group.
        bind_errors, others = group.split(OSError)
        if bind_errors is None or others is not None:
            raise
        reason = bind_errors.exceptions[0]
        raise SetupError(
            f"cannot serve the local page on 127.0.0.1:{options.port}: {reason}"
        ) from None
    if session.error is not None:
        raise session.error
    created = session.created
    if created is None:  # the server stopped without the flow finishing: a bug, not a user error
        raise SetupError("the local server stopped before GitHub redirected back")
    echo(f"Created the GitHub App {created.slug} (id {created.app_id}): {created.html_url}")
    echo(
        f"Wrote {written_names(created, api_url=options.api_url)} to {created.env_file} "
        "(mode 0600; keep it private)."
    )
    echo(
        f"The app is installed nowhere yet. Next, install it on your organization: "
        f"{created.install_url}"
    )
    return created
