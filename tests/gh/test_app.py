"""snekomatic.gh.app: settings, secrecy, and authentication as the app and as an installation.

The authentication tests run the app against gh.testing's fake GitHub in-process (no sockets), and
watch what the app sends through hooks on its HTTP client.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
import trio
import trio.testing

import snekomatic.gh
from snekomatic.gh.app import GitHubApp
from snekomatic.gh.errors import ConfigurationError, Unauthorized
from snekomatic.gh.sansio import signature_for
from snekomatic.gh.testing import GitHubWorld, open_github_world
from snekomatic.gh.testing._keys import public_key_pem

EPOCH = 1_700_000_000.0
BASE_URL = "http://github.local"
TOKENS = "/app/installations/*/access_tokens"
REPO = "/repos/octo-org/widget"


@dataclass
class Sent:
    """What the app sent: each request's path and Authorization, in order, and how many were in
    flight at once. ``delay`` (virtual seconds) holds each request before it leaves, so that
    overlapping requests are observable."""

    requests: list[tuple[str, str]] = field(default_factory=list)
    delay: float = 0.0
    in_flight: int = 0
    max_in_flight: int = 0

    @property
    def jwts(self) -> list[str]:
        return [a.removeprefix("Bearer ") for _, a in self.requests if a.startswith("Bearer ")]

    async def on_request(self, request: httpx.Request) -> None:
        self.requests.append((request.url.path, request.headers.get("authorization", "")))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        if self.delay:
            await trio.sleep(self.delay)

    async def on_response(self, response: httpx.Response) -> None:
        self.in_flight -= 1


@pytest.fixture
async def world() -> AsyncIterator[GitHubWorld]:
    async with open_github_world(served=False) as world:
        world.fake.add_repo(world.org, "widget")
        yield world


@pytest.fixture
async def app(world: GitHubWorld) -> GitHubApp:
    return world.app


@pytest.fixture
async def sent(world: GitHubWorld) -> Sent:
    sent = Sent()
    world.http.event_hooks["request"].append(sent.on_request)
    world.http.event_hooks["response"].append(sent.on_response)
    return sent


def minted(world: GitHubWorld) -> list[str]:
    """The installation tokens the fake minted, oldest first."""
    return list(world.fake.tokens)


# Every async test takes autojump_clock: the stand-in GitHub runs in-process, so no real I/O is ever in
# flight and virtual time can jump whenever all tasks wait.
def guarded(test: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """Fail the test if it runs longer than four virtual hours, instead of hanging."""

    @functools.wraps(test)
    async def run(*args: Any, **kwargs: Any) -> None:
        with trio.fail_after(4 * 3600):
            await test(*args, **kwargs)

    return run


# --- settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "variable", "read"),
    [
        pytest.param("app_id", "GITHUB_APP_ID", lambda app: app.app_id, id="app-id"),
        pytest.param(
            "user_agent", "GITHUB_USER_AGENT", lambda app: app.user_agent, id="user-agent"
        ),
        pytest.param(
            "webhook_secret",
            "GITHUB_WEBHOOK_SECRET",
            lambda app: app.webhook_secrets,
            id="webhook-secret",
        ),
        pytest.param(
            "user_agent",
            "GITHUB_USER_AGENT",
            lambda app: app.client_for(1),
            id="client-needs-agent",
        ),
    ],
)
@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: GitHubApp(), id="values"),
        pytest.param(lambda: GitHubApp.from_env({}), id="from-env"),
    ],
)
def test_missing_setting_names_its_argument_and_variable(
    make: Callable[[], GitHubApp], argument: str, variable: str, read: Any
) -> None:
    app = make()
    with pytest.raises(ConfigurationError, match=variable) as caught:
        read(app)
    assert caught.value.setting == argument


@guarded
async def test_missing_private_key_names_its_variable(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with GitHubApp(app_id=1, user_agent="ua", base_url=BASE_URL) as app:
        with pytest.raises(ConfigurationError, match="GITHUB_PRIVATE_KEY"):
            await app.token_for(1)


def test_the_constructor_never_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_APP_ID", "17")
    monkeypatch.setenv("GITHUB_API_URL", "https://ghe.x/api/v3")
    app = GitHubApp()
    with pytest.raises(ConfigurationError, match="app_id"):
        _ = app.app_id
    assert app.base_url == "https://api.github.com"


def test_from_env_reads_the_environment_once_when_called() -> None:
    environ = {
        "GITHUB_APP_ID": "17",
        "GITHUB_USER_AGENT": "bot",
        "GITHUB_API_URL": "https://ghe.x/api/v3",
    }
    app = GitHubApp.from_env(environ)
    environ.update(GITHUB_APP_ID="18", GITHUB_USER_AGENT="other")
    assert (app.app_id, app.user_agent, app.base_url) == ("17", "bot", "https://ghe.x/api/v3")


def test_from_env_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_APP_ID", "17")
    assert GitHubApp.from_env().app_id == "17"


def test_from_env_overrides_win_over_variables() -> None:
    app = GitHubApp.from_env(
        {"GITHUB_APP_ID": "6", "GITHUB_USER_AGENT": "env"}, app_id=5, user_agent="arg"
    )
    assert (app.app_id, app.user_agent) == ("5", "arg")


def test_from_env_override_none_leaves_a_setting_unset() -> None:
    app = GitHubApp.from_env({"GITHUB_WEBHOOK_SECRET": "s"}, webhook_secret=None)
    with pytest.raises(ConfigurationError, match="webhook_secret"):
        _ = app.webhook_secrets


def test_from_env_refuses_an_unknown_override() -> None:
    with pytest.raises(TypeError):
        GitHubApp.from_env({}, app_idd=5)


def test_github_app_keeps_the_originals_spelling_as_an_alias() -> None:
    assert snekomatic.gh.GithubApp is snekomatic.gh.GitHubApp is GitHubApp


def test_base_url_defaults_to_github_com() -> None:
    assert GitHubApp().base_url == "https://api.github.com"
    assert GitHubApp.from_env({"GITHUB_API_URL": " "}).base_url == "https://api.github.com"


@pytest.mark.parametrize(
    ("argument", "secrets"),
    [
        pytest.param("one", [b"one"], id="str"),
        pytest.param(["new", "old"], [b"new", b"old"], id="sequence"),
        pytest.param("ünïcode", ["ünïcode".encode()], id="utf-8"),
        pytest.param("new, old", [b"new, old"], id="a-value-is-not-split"),
    ],
)
def test_webhook_secrets(argument: Any, secrets: list[bytes]) -> None:
    assert GitHubApp(webhook_secret=argument).webhook_secrets == secrets


@pytest.mark.parametrize(
    ("variable", "secrets"),
    [
        pytest.param("only", [b"only"], id="one"),
        pytest.param("new, old", [b"new", b"old"], id="comma"),
        pytest.param(" new ,, old, ", [b"new", b"old"], id="blanks"),
    ],
)
def test_from_env_splits_webhook_secrets_on_commas(variable: str, secrets: list[bytes]) -> None:
    assert GitHubApp.from_env({"GITHUB_WEBHOOK_SECRET": variable}).webhook_secrets == secrets


@pytest.mark.parametrize(
    "argument", [pytest.param([], id="empty-list"), pytest.param("", id="empty-str")]
)
def test_empty_webhook_secret_is_refused(argument: Any) -> None:
    with pytest.raises(ConfigurationError, match="webhook_secret"):
        _ = GitHubApp(webhook_secret=argument).webhook_secrets


def test_parse_webhook_accepts_any_configured_secret() -> None:
    app = GitHubApp(webhook_secret=["new", "old"])
    body = b'{"action": "opened", "installation": {"id": 9}}'
    headers = {
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": "d-1",
        "Content-Type": "application/json",
        "X-Hub-Signature-256": signature_for(body, b"old"),
    }
    event = app.parse_webhook(headers, body)
    assert (event.event, event.action, event.installation_id) == ("issues", "opened", 9)


@guarded
async def test_from_env_turns_literal_newline_escapes_of_the_private_key_into_newlines(
    autojump_clock: trio.testing.MockClock, world: GitHubWorld
) -> None:
    escaped = world.private_key.replace("\n", "\\n")
    app = GitHubApp.from_env(
        {"GITHUB_PRIVATE_KEY": escaped},
        app_id=world.fake.app_id,
        user_agent="ua",
        base_url=world.base_url,
        http=world.http,
        clock=world.clock,
    )
    assert (await app.app_client.getitem("/app"))["id"] == world.fake.app_id


# --- secrecy ------------------------------------------------------------------------------------


@guarded
async def test_no_secret_reaches_a_repr_or_an_error(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, world: GitHubWorld, sent: Sent
) -> None:
    token = await app.token_for(world.installation.id)
    world.fake.inject_fault("GET", "/repos/*", kind="unauthorized", times=2)
    with pytest.raises(Unauthorized) as caught:
        await app.client_for(world.installation.id).getitem(REPO)
    texts = [
        repr(app),
        repr(app.app_client),
        repr(app.client_for(world.installation.id)),
        repr(caught.value),
        str(caught.value),
    ]
    secrets = [world.private_key.splitlines()[1], world.fake.webhook_secret, token, *sent.jwts]
    assert [s for s in secrets for text in texts if s in text] == []


def test_bad_private_key_error_does_not_show_it() -> None:
    app = GitHubApp(app_id=1, private_key="-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0\n")
    with pytest.raises(ConfigurationError) as caught:
        app._encode_jwt(EPOCH)
    assert "c2VjcmV0" not in str(caught.value)


# --- the app's JWT ------------------------------------------------------------------------------


@guarded
async def test_app_jwt_has_githubs_claims(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, world: GitHubWorld, sent: Sent
) -> None:
    await app.app_client.getitem("/app")
    claims = jwt.decode(
        sent.jwts[0],
        public_key_pem(world.private_key),
        algorithms=["RS256"],
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["iss"] == "1"
    assert claims["iat"] == int(world.clock()) - 60
    assert claims["exp"] - claims["iat"] == 600


@guarded
async def test_app_jwt_is_reused_while_more_than_a_minute_is_left(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, sent: Sent
) -> None:
    await app.app_client.getitem("/app")
    await trio.sleep(540 - 60 - 1)
    await app.app_client.getitem("/app")
    assert len(set(sent.jwts)) == 1


@guarded
async def test_app_jwt_is_rebuilt_with_a_minute_left(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, sent: Sent
) -> None:
    await app.app_client.getitem("/app")
    await trio.sleep(540 - 60)
    await app.app_client.getitem("/app")
    assert len(set(sent.jwts)) == 2


@pytest.mark.parametrize(
    "skew",
    [pytest.param(-300.0, id="our-clock-ahead"), pytest.param(900.0, id="our-clock-behind")],
)
@guarded
async def test_jwt_refused_for_clock_skew_is_rebuilt_from_date_and_retried_once(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, world: GitHubWorld, skew: float
) -> None:
    world.fake.clock_skew = skew
    assert (await app.app_client.getitem("/app"))["id"] == 1
    assert [(r.path, r.status) for r in world.fake.requests] == [("/app", 401), ("/app", 200)]
    assert (await app.app_client.getitem("/app"))["id"] == 1  # the correction is kept
    assert len(world.fake.requests) == 3


@guarded
async def test_clock_skew_correction_also_dates_installation_tokens(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, world: GitHubWorld
) -> None:
    world.fake.clock_skew = 900.0
    await app.token_for(world.installation.id)
    await app.token_for(world.installation.id)
    assert len(minted(world)) == 1


@guarded
async def test_persisting_jwt_rejection_is_raised_not_retried_forever(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, world: GitHubWorld
) -> None:
    world.fake.app_id = 2  # GitHub does not know our app id: not a clock problem
    with pytest.raises(Unauthorized):
        await app.app_client.getitem("/app")
    assert len(world.fake.requests) == 1


# --- installation tokens --------------------------------------------------------------------------


@guarded
async def test_installation_client_uses_a_minted_token(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, world: GitHubWorld, sent: Sent
) -> None:
    repo = await app.client_for(world.installation.id).getitem(REPO)
    assert repo["full_name"] == "octo-org/widget"
    [token] = minted(world)
    assert world.fake.tokens[token].installation_id == world.installation.id
    assert sent.requests[-1] == (REPO, f"token {token}")


@guarded
async def test_token_for_returns_the_cached_raw_token(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, world: GitHubWorld
) -> None:
    installation_id = world.installation.id
    assert await app.token_for(str(installation_id)) == await app.token_for(installation_id)
    assert minted(world) == [await app.token_for(installation_id)]


@guarded
async def test_token_for_respects_min_ttl(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, world: GitHubWorld
) -> None:
    await app.token_for(world.installation.id)
    await trio.sleep(1800)
    await app.token_for(world.installation.id, min_ttl=1000)
    await app.token_for(world.installation.id, min_ttl=2000)
    assert len(minted(world)) == 2


@guarded
async def test_hundred_requests_over_an_hour_mint_at_most_two_tokens(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, world: GitHubWorld
) -> None:
    for _ in range(100):
        await app.client_for(world.installation.id).getitem(REPO)
        await trio.sleep(36)
    assert len(minted(world)) <= 2


@guarded
async def test_ten_concurrent_first_requests_mint_exactly_one_token(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, world: GitHubWorld, sent: Sent
) -> None:
    sent.delay = 0.5
    installation_id = world.installation.id
    async with trio.open_nursery() as nursery:
        for i in range(10):
            nursery.start_soon(app.token_for, installation_id if i % 2 else str(installation_id))
    assert len(minted(world)) == 1


@guarded
async def test_token_refused_right_after_minting_is_retried_once_with_a_new_one(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, world: GitHubWorld, sent: Sent
) -> None:
    world.fake.inject_fault("GET", "/repos/*", kind="unauthorized", times=1)
    repo = await app.client_for(world.installation.id).getitem(REPO)
    assert repo["full_name"] == "octo-org/widget"
    assert [auth for path, auth in sent.requests if path == REPO] == [
        f"token {token}" for token in minted(world)
    ]
    assert len(minted(world)) == 2


@guarded
async def test_token_refused_twice_is_raised(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, world: GitHubWorld
) -> None:
    world.fake.inject_fault("GET", "/repos/*", kind="unauthorized", times=2)
    with pytest.raises(Unauthorized):
        await app.client_for(world.installation.id).getitem(REPO)
    assert len(minted(world)) == 2


@guarded
async def test_old_token_refused_is_not_retried_but_replaced_next_time(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, world: GitHubWorld, sent: Sent
) -> None:
    client = app.client_for(world.installation.id)
    await client.getitem(REPO)
    await trio.sleep(600)
    world.fake.inject_fault("GET", "/repos/*", kind="unauthorized", times=1)  # e.g. revoked
    with pytest.raises(Unauthorized):
        await client.getitem(REPO)
    await client.getitem(REPO)
    first, second = minted(world)
    assert [auth for path, auth in sent.requests if path == REPO] == [
        f"token {first}",
        f"token {first}",
        f"token {second}",
    ]


# --- shared per-installation state ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("other", "max_in_flight"),
    [
        pytest.param(lambda world: str(world.installation.id), 1, id="same-installation"),
        pytest.param(
            lambda world: world.fake.install(world.fake.add_org("other-org")).id,
            2,
            id="two-installations",
        ),
    ],
)
@guarded
async def test_clients_of_one_installation_share_its_pacer(
    autojump_clock: trio.testing.MockClock,
    app: GitHubApp,
    world: GitHubWorld,
    sent: Sent,
    other: Callable[[GitHubWorld], int | str],
    max_in_flight: int,
) -> None:
    ids = (world.installation.id, other(world))
    for installation_id in ids:
        await app.token_for(installation_id)
    sent.delay = 1.0
    sent.max_in_flight = 0
    async with trio.open_nursery() as nursery:
        for installation_id in ids:
            nursery.start_soon(app.client_for(installation_id).getitem, REPO)
    assert sent.max_in_flight == max_in_flight


@guarded
async def test_app_creates_and_closes_its_own_http_client(
    autojump_clock: trio.testing.MockClock,
) -> None:
    app = GitHubApp(app_id=1, user_agent="ua")
    client = app.client_for(1)
    http = app._http
    await app.aclose()
    assert http is not None and http.is_closed
    assert client is not None


@guarded
async def test_injected_http_client_is_left_open(
    autojump_clock: trio.testing.MockClock, world: GitHubWorld
) -> None:
    async with GitHubApp(app_id=1, user_agent="ua", http=world.http) as app:
        app.client_for(1)
    assert not world.http.is_closed
