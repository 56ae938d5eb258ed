"""``snekomatic setup`` end to end: the manifest flow against the fake GitHub on loopback, no browser.

The test plays the browser with httpx: it reads the local start page, submits its form to the fake's
new-app page, and follows the fake's redirect back to the local receiver.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
import trio
import yaml

from snekomatic.dev import install_simulator
from snekomatic.gh.app import GitHubApp
from snekomatic.gh.testing import FakeGitHub, GitHubWorld, generate_private_key
from snekomatic.gh.testing._routes_manifest import FakeManifestApp, manifest_apps
from snekomatic.runtime import load_settings
from snekomatic.setup import (
    CreatedApp,
    SetupError,
    SetupOptions,
    env_file_text,
    run_setup,
)
from snekomatic.webpage import FAVICON_LINK, STYLESHEET
from tests.log_scanner import remember_secret

ROOT = Path(__file__).parent.parent
APP_YML = ROOT / "app.yml"


class FormParser(HTMLParser):
    """The first form's action and its hidden ``manifest`` field, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.manifest: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = values.get("action")
        if tag == "input" and values.get("name") == "manifest":
            self.manifest = values.get("value")


def read_form(page: str) -> tuple[str, str]:
    parser = FormParser()
    parser.feed(page)
    assert parser.action is not None and parser.manifest is not None
    return parser.action, parser.manifest


@dataclass
class SetupRun:
    """A ``run_setup`` in progress: its start page, its output, and how it ended."""

    options: SetupOptions
    start_url: str = ""
    form_action: str = ""
    lines: list[str] = field(default_factory=list)
    created: CreatedApp | None = None
    error: SetupError | None = None
    finished: trio.Event = field(default_factory=trio.Event)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


@dataclass
class World:
    fake: FakeGitHub
    fake_url: str
    http: httpx.AsyncClient
    nursery: trio.Nursery
    tmp_path: Path

    def options(self, **overrides: object) -> SetupOptions:
        values: dict[str, object] = {
            "manifest_path": APP_YML,
            "env_file": self.tmp_path / ".env",
            "github_url": self.fake_url,
            "api_url": self.fake_url,
        }
        values.update(overrides)
        return SetupOptions(**values)  # type: ignore[arg-type]

    async def start_setup(self, **overrides: object) -> SetupRun:
        run = SetupRun(self.options(**overrides))

        async def go(*, task_status: trio.TaskStatus[str]) -> None:
            try:
                run.created = await run_setup(
                    run.options, echo=run.lines.append, task_status=task_status
                )
            except SetupError as exc:
                run.error = exc
            finally:
                run.finished.set()

        run.start_url = await self.nursery.start(go)
        return run

    async def submit_to_github(self, run: SetupRun) -> httpx.Response:
        """GET the start page and POST its form to the fake; the fake's 302 answer."""
        page = await self.http.get(run.start_url)
        assert page.status_code == 200
        action, manifest = read_form(page.text)
        run.form_action = action
        answer = await self.http.post(action, data={"manifest": manifest})
        assert answer.status_code == 302, answer.text
        return answer

    async def complete(self, run: SetupRun) -> httpx.Response:
        """The whole browser side; the local receiver's answer, once the flow has finished."""
        redirect = await self.submit_to_github(run)
        answer = await self.http.get(redirect.headers["location"])
        await run.finished.wait()
        created = manifest_apps(self.fake)[-1]
        for secret in (created.pem, created.webhook_secret, created.client_secret):
            remember_secret(secret)
        return answer


@pytest.fixture
def world_clock() -> Callable[[], float]:
    # The new app's credentials are used as a bot would use them, on this machine's clock.
    return time.time


@pytest.fixture
async def world(
    github_world: GitHubWorld, http: httpx.AsyncClient, nursery: trio.Nursery, tmp_path: Path
) -> AsyncIterator[World]:
    with trio.fail_after(60):
        yield World(github_world.fake, github_world.base_url, http, nursery, tmp_path)


def only_app(fake: FakeGitHub) -> FakeManifestApp:
    (app,) = manifest_apps(fake)
    return app


def app_yml() -> dict[str, object]:
    loaded = yaml.safe_load(APP_YML.read_text())
    assert isinstance(loaded, dict)
    return loaded


# --- the happy path ----------------------------------------------------------------------------------


async def test_setup_writes_the_env_file_with_mode_0600(world: World) -> None:
    run = await world.start_setup()
    answer = await world.complete(run)
    assert answer.status_code == 200
    assert run.error is None and run.created is not None
    mode = stat.S_IMODE(os.stat(world.tmp_path / ".env").st_mode)
    assert mode == 0o600


async def test_load_settings_reads_the_new_apps_credentials_back(world: World) -> None:
    run = await world.start_setup()
    await world.complete(run)
    app = only_app(world.fake)
    settings = load_settings(env_file=str(world.tmp_path / ".env"))
    assert settings.github_app_id == app.id
    assert settings.private_key_pem() == app.pem
    assert settings.webhook_secrets() == [app.webhook_secret.encode()]
    assert settings.github_user_agent == app.slug
    assert settings.github_api_url == world.fake_url
    settings.require(app=True, webhooks=True)


async def test_the_written_key_authenticates_as_the_new_app(world: World) -> None:
    run = await world.start_setup()
    await world.complete(run)
    settings = load_settings(env_file=str(world.tmp_path / ".env"))
    async with GitHubApp(
        app_id=settings.github_app_id,
        private_key=settings.private_key_pem(),
        webhook_secret=[s.get_secret_value() for s in settings.github_webhook_secret],
        user_agent=settings.github_user_agent,
        base_url=settings.github_api_url,
    ) as app:
        answer = await app.app_client.getitem("/app")
    assert answer["id"] == only_app(world.fake).id


@pytest.mark.parametrize(
    ("org", "path"),
    [
        pytest.param(None, "/settings/apps/new", id="personal"),
        pytest.param("octo-org", "/organizations/octo-org/settings/apps/new", id="org"),
    ],
)
async def test_the_manifest_asks_for_exactly_app_yml_permissions_and_events(
    world: World, org: str | None, path: str
) -> None:
    run = await world.start_setup(org=org)
    redirect = await world.submit_to_github(run)
    await world.http.get(redirect.headers["location"])
    await run.finished.wait()
    app = only_app(world.fake)
    expected = app_yml()
    assert app.manifest["default_permissions"] == expected["default_permissions"]
    assert app.manifest["default_events"] == expected["default_events"]
    assert app.manifest["public"] is False
    assert app.manifest["redirect_url"] == run.start_url.rstrip("/") + "/redirect"
    assert app.owner.login == ("octocat" if org is None else org)
    assert httpx.URL(run.form_action).path == path


async def test_the_webhook_url_option_goes_into_the_manifest(world: World) -> None:
    run = await world.start_setup(webhook_url="https://bot.example.org/webhook/github")
    await world.complete(run)
    hook = only_app(world.fake).manifest["hook_attributes"]
    assert hook == {"url": "https://bot.example.org/webhook/github", "active": True}


async def test_without_a_webhook_url_the_output_explains_the_placeholder(world: World) -> None:
    run = await world.start_setup()
    await world.complete(run)
    assert "placeholder" in run.output
    assert (
        only_app(world.fake).manifest["hook_attributes"]["url"]
        == "https://example.invalid/webhook/github"
    )


async def test_the_output_names_the_app_and_its_install_url_and_no_secret(world: World) -> None:
    run = await world.start_setup()
    answer = await world.complete(run)
    app = only_app(world.fake)
    html_url = f"{world.fake_url}/apps/{app.slug}"
    assert f"{html_url}/installations/new" in run.output
    pem_lines = [line for line in app.pem.splitlines() if not line.startswith("-----")]
    for shown in (run.output, answer.text):
        for secret in [app.webhook_secret, app.client_secret, *pem_lines]:
            assert secret not in shown


async def test_the_summary_names_every_key_written(world: World) -> None:
    run = await world.start_setup()
    await world.complete(run)
    written = re.findall(r"^([A-Z_]+)=", (world.tmp_path / ".env").read_text(), re.MULTILINE)
    (summary,) = [line for line in run.lines if line.startswith("Wrote ")]
    assert "GITHUB_API_URL" in written  # the fake is not GitHub.com
    assert re.findall(r"\b[A-Z][A-Z_]+[A-Z]\b", summary.partition(" to ")[0]) == written


async def test_the_new_app_is_not_taken_as_installed(world: World) -> None:
    assert world.fake.installations  # the app the fake served before is installed on octo-org
    run = await world.start_setup()
    await world.complete(run)
    assert world.fake.installations == {}
    assert "installed nowhere yet" in run.output


async def test_the_printed_install_link_installs_the_app(world: World) -> None:
    install_simulator(world.fake)  # the fake as snekomatic dev and fake-github serve it
    run = await world.start_setup()
    await world.complete(run)
    (link,) = re.findall(r"http://\S+/installations/new", run.output)
    page = await world.http.get(link)
    assert page.status_code == 200
    assert 'data-login="octo-org"' in page.text and 'data-testid="install-button"' in page.text
    answer = await world.http.post(link, data={"account": "octo-org"})
    assert answer.status_code == 303
    org = world.fake.orgs["octo-org"]
    assert world.fake.installation_for(org.account) is not None
    delivery = world.fake.deliveries[-1]
    assert (delivery.event, delivery.action) == ("installation", "created")
    assert delivery.payload["installation"]["app_id"] == only_app(world.fake).id
    shown = await world.http.get(world.fake_url + answer.headers["location"])
    assert 'data-testid="installed"' in shown.text


async def test_the_setup_pages_share_the_simulators_look(world: World) -> None:
    run = await world.start_setup()
    start = await world.http.get(run.start_url)
    done = await world.complete(run)
    for page in (start.text, done.text):
        assert STYLESHEET in page and FAVICON_LINK in page


# --- what is refused -------------------------------------------------------------------------------


async def test_a_redirect_with_the_wrong_state_is_refused_and_writes_nothing(world: World) -> None:
    run = await world.start_setup()
    redirect = await world.submit_to_github(run)
    location = httpx.URL(redirect.headers["location"])
    forged = location.copy_set_param("state", "not-the-state")
    answer = await world.http.get(forged)
    assert answer.status_code == 400
    assert not (world.tmp_path / ".env").exists()
    assert world.fake.requests_to("POST", "/app-manifests/*") == []
    assert not run.finished.is_set()  # still waiting for the real redirect


async def test_a_spent_code_fails_cleanly_and_writes_nothing(world: World) -> None:
    run = await world.start_setup()
    redirect = await world.submit_to_github(run)
    code = httpx.URL(redirect.headers["location"]).params["code"]
    spent = await world.http.post(
        f"{world.fake_url}/app-manifests/{code}/conversions", headers={"user-agent": "someone"}
    )
    assert spent.status_code == 201
    remember_secret(spent.json()["pem"])
    answer = await world.http.get(redirect.headers["location"])
    await run.finished.wait()
    assert answer.status_code == 502
    assert run.error is not None and "spent or expired" in str(run.error)
    assert not (world.tmp_path / ".env").exists()


async def test_an_existing_env_file_is_kept_without_force(world: World) -> None:
    env_file = world.tmp_path / ".env"
    env_file.write_text("KEEP=me\n")
    with pytest.raises(SetupError, match="--force"):
        await run_setup(world.options(), echo=lambda line: None)
    assert env_file.read_text() == "KEEP=me\n"
    assert manifest_apps(world.fake) == []


async def test_force_replaces_an_existing_env_file_with_a_0600_one(world: World) -> None:
    env_file = world.tmp_path / ".env"
    env_file.write_text("KEEP=me\n")
    env_file.chmod(0o644)
    run = await world.start_setup(force=True)
    await world.complete(run)
    assert stat.S_IMODE(os.stat(env_file).st_mode) == 0o600
    assert "KEEP" not in env_file.read_text()


# --- the env file format ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param("0123456789abcdef0123456789abcdef01234567", id="hex"),
        pytest.param('it\'s a "secret" # with $HOME and \\n', id="quotes-hash-dollar-backslash"),
    ],
)
def test_env_file_values_read_back_exactly(tmp_path: Path, secret: str) -> None:
    app = CreatedApp(
        app_id=123,
        slug="snekomatic-test",
        html_url="https://github.com/apps/snekomatic-test",
        env_file=tmp_path / ".env",
        pem=generate_private_key(),
        webhook_secret=secret,
    )
    (tmp_path / ".env").write_text(env_file_text(app, api_url="https://api.github.com"))
    settings = load_settings(env_file=str(tmp_path / ".env"))
    assert settings.private_key_pem() == app.pem
    assert [s.get_secret_value() for s in settings.github_webhook_secret] == [secret]
    assert settings.github_api_url == "https://api.github.com"


def test_a_value_dotenv_would_expand_is_refused(tmp_path: Path) -> None:
    app = CreatedApp(
        app_id=1,
        slug="s",
        html_url="https://github.com/apps/s",
        env_file=tmp_path / ".env",
        pem=generate_private_key(),
        webhook_secret="${HOME}",
    )
    with pytest.raises(SetupError):
        env_file_text(app, api_url="https://api.github.com")


# --- the command, as a process ----------------------------------------------------------------------


async def read_until(stream: trio.abc.ReceiveStream, needle: bytes) -> bytes:
    """Bytes from ``stream`` up to and including the line holding ``needle`` (the process's output)."""
    seen = b""
    while needle not in seen or not seen.endswith(b"\n"):
        chunk = await stream.receive_some()
        assert chunk, f"the process ended before printing {needle!r}: {seen!r}"
        seen += chunk
    return seen


async def test_the_setup_command_runs_the_flow_and_exits_0(world: World) -> None:
    env_file = world.tmp_path / ".env"
    command = [
        sys.executable,
        "-c",
        "from snekomatic.cli import setup; setup(prog_name='snekomatic setup')",
        *("--github-url", world.fake_url, "--api-url", world.fake_url),
        *("--env-file", str(env_file), "--manifest", str(APP_YML), "--no-browser"),
    ]
    process = await trio.lowlevel.open_process(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        assert process.stdout is not None
        output = await read_until(process.stdout, b"/ in your browser")
        start_url = re.search(rb"Open (http://127\.0\.0\.1:\d+/) ", output)
        assert start_url is not None
        run = SetupRun(SetupOptions(manifest_path=APP_YML), start_url=start_url[1].decode())
        redirect = await world.submit_to_github(run)
        assert (await world.http.get(redirect.headers["location"])).status_code == 200
        while chunk := await process.stdout.receive_some():
            output += chunk
        await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            with trio.CancelScope(shield=True):
                await process.wait()
    assert process.returncode == 0, output.decode()
    app = only_app(world.fake)
    remember_secret(app.pem)
    assert f"/apps/{app.slug}/installations/new".encode() in output
    assert app.webhook_secret.encode() not in output
    assert load_settings(env_file=str(env_file)).github_app_id == app.id


def test_python_m_snekomatic_setup_help_works() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "snekomatic", "setup", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "--github-url" in result.stdout
