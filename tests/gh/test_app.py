"""snekomatic.gh.app: settings, secrecy, and authentication as the app and as an installation."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import jwt
import pytest
import trio
import trio.testing

import snekomatic.gh
from snekomatic.gh.app import GitHubApp
from snekomatic.gh.errors import ConfigurationError, Unauthorized
from snekomatic.gh.sansio import signature_for
from tests.gh.local_github import LocalGitHub, new_private_key, public_key_of

EPOCH = 1_700_000_000.0
BASE_URL = "http://github.local"


def wall_clock() -> float:
    return EPOCH + trio.current_time()


@pytest.fixture(scope="session")
def private_key() -> str:
    return new_private_key()


@pytest.fixture
def server(private_key: str) -> LocalGitHub:
    return LocalGitHub(private_key=private_key, clock=wall_clock)


@pytest.fixture
async def app(server: LocalGitHub) -> AsyncIterator[GitHubApp]:
    async with server.http() as http:
        yield GitHubApp(
            app_id=1,
            private_key=server.private_key,
            webhook_secret="s3cret",
            user_agent="snekomatic-tests",
            base_url=BASE_URL,
            http=http,
            clock=wall_clock,
        )


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
    autojump_clock: trio.testing.MockClock, server: LocalGitHub
) -> None:
    escaped = server.private_key.replace("\n", "\\n")
    async with server.http() as http:
        app = GitHubApp.from_env(
            {"GITHUB_PRIVATE_KEY": escaped},
            app_id=1,
            user_agent="ua",
            base_url=BASE_URL,
            http=http,
            clock=wall_clock,
        )
        assert await app.app_client.getitem("/app") == {"id": 1}


# --- secrecy ------------------------------------------------------------------------------------


@guarded
async def test_no_secret_reaches_a_repr_or_an_error(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, server: LocalGitHub
) -> None:
    token = await app.token_for(3)
    server.refuse_fresh_tokens = 2
    with pytest.raises(Unauthorized) as caught:
        await app.client_for(3).getitem("/repos/o/r")
    texts = [
        repr(app),
        repr(app.app_client),
        repr(app.client_for(3)),
        repr(caught.value),
        str(caught.value),
    ]
    secrets = [server.private_key.splitlines()[1], "s3cret", token, *server.jwts]
    assert [s for s in secrets for text in texts if s in text] == []


def test_bad_private_key_error_does_not_show_it() -> None:
    app = GitHubApp(app_id=1, private_key="-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0\n")
    with pytest.raises(ConfigurationError) as caught:
        app._encode_jwt(EPOCH)
    assert "c2VjcmV0" not in str(caught.value)


# --- the app's JWT ------------------------------------------------------------------------------


@guarded
async def test_app_jwt_has_githubs_claims(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, server: LocalGitHub
) -> None:
    await app.app_client.getitem("/app")
    claims = jwt.decode(
        server.jwts[0],
        public_key_of(server.private_key),
        algorithms=["RS256"],
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["iss"] == "1"
    assert claims["iat"] == int(wall_clock()) - 60
    assert claims["exp"] - claims["iat"] == 600


@guarded
async def test_app_jwt_is_reused_while_more_than_a_minute_is_left(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, server: LocalGitHub
) -> None:
    await app.app_client.getitem("/app")
    await trio.sleep(540 - 60 - 1)
    await app.app_client.getitem("/app")
    assert len(set(server.jwts)) == 1


@guarded
async def test_app_jwt_is_rebuilt_with_a_minute_left(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, server: LocalGitHub
) -> None:
    await app.app_client.getitem("/app")
    await trio.sleep(540 - 60)
    await app.app_client.getitem("/app")
    assert len(set(server.jwts)) == 2


@pytest.mark.parametrize(
    "skew",
    [pytest.param(-300.0, id="our-clock-ahead"), pytest.param(900.0, id="our-clock-behind")],
)
@guarded
async def test_jwt_refused_for_clock_skew_is_rebuilt_from_date_and_retried_once(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, server: LocalGitHub, skew: float
) -> None:
    server.skew = skew
    assert await app.app_client.getitem("/app") == {"id": 1}
    assert [r.path for r in server.requests] == ["/app", "/app"]
    assert await app.app_client.getitem("/app") == {"id": 1}  # the correction is kept
    assert len(server.requests) == 3


@guarded
async def test_clock_skew_correction_also_dates_installation_tokens(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, server: LocalGitHub
) -> None:
    server.skew = 900.0
    await app.token_for(3)
    await app.token_for(3)
    assert len(server.minted) == 1


@guarded
async def test_persisting_jwt_rejection_is_raised_not_retried_forever(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, server: LocalGitHub
) -> None:
    server.app_id = "2"  # GitHub does not know our app id: not a clock problem
    with pytest.raises(Unauthorized):
        await app.app_client.getitem("/app")
    assert len(server.requests) == 1


# --- installation tokens --------------------------------------------------------------------------


@guarded
async def test_installation_client_uses_a_minted_token(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, server: LocalGitHub
) -> None:
    assert await app.client_for(3).getitem("/repos/o/r") == {"path": "/repos/o/r"}
    assert server.minted == [(3, "ghs_1")]
    assert server.requests[-1].authorization == "token ghs_1"


@guarded
async def test_token_for_returns_the_cached_raw_token(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, server: LocalGitHub
) -> None:
    assert await app.token_for("3") == await app.token_for(3) == "ghs_1"
    assert len(server.minted) == 1


@guarded
async def test_token_for_respects_min_ttl(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, server: LocalGitHub
) -> None:
    await app.token_for(3)
    await trio.sleep(1800)
    await app.token_for(3, min_ttl=1000)
    await app.token_for(3, min_ttl=2000)
    assert len(server.minted) == 2


@guarded
async def test_hundred_requests_over_an_hour_mint_at_most_two_tokens(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, server: LocalGitHub
) -> None:
    for _ in range(100):
        await app.client_for(3).getitem("/repos/o/r")
        await trio.sleep(36)
    assert len(server.minted) <= 2


@guarded
async def test_ten_concurrent_first_requests_mint_exactly_one_token(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, server: LocalGitHub
) -> None:
    server.delay = 0.5
    async with trio.open_nursery() as nursery:
        for i in range(10):
            nursery.start_soon(app.token_for, 3 if i % 2 else "3")
    assert len(server.minted) == 1


@guarded
async def test_token_refused_right_after_minting_is_retried_once_with_a_new_one(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, server: LocalGitHub
) -> None:
    server.refuse_fresh_tokens = 1
    assert await app.client_for(3).getitem("/repos/o/r") == {"path": "/repos/o/r"}
    assert [r.authorization for r in server.requests if r.path == "/repos/o/r"] == [
        "token ghs_1",
        "token ghs_2",
    ]


@guarded
async def test_token_refused_twice_is_raised(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, server: LocalGitHub
) -> None:
    server.refuse_fresh_tokens = 2
    with pytest.raises(Unauthorized):
        await app.client_for(3).getitem("/repos/o/r")
    assert len(server.minted) == 2


@guarded
async def test_old_token_refused_is_not_retried_but_replaced_next_time(
    autojump_clock: trio.testing.MockClock, app: GitHubApp, server: LocalGitHub
) -> None:
    client = app.client_for(3)
    await client.getitem("/repos/o/r")
    await trio.sleep(600)
    server.refuse_fresh_tokens = 1  # e.g. revoked
    with pytest.raises(Unauthorized):
        await client.getitem("/repos/o/r")
    await client.getitem("/repos/o/r")
    assert [t for _, t in server.minted] == ["ghs_1", "ghs_2"]


# --- shared per-installation state ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ids", "max_in_flight"),
    [
        pytest.param((3, "3"), 1, id="same-installation"),
        pytest.param((3, 4), 2, id="two-installations"),
    ],
)
@guarded
async def test_clients_of_one_installation_share_its_pacer(
    autojump_clock: trio.testing.MockClock,
    app: GitHubApp,
    server: LocalGitHub,
    ids: tuple[int | str, int | str],
    max_in_flight: int,
) -> None:
    for installation in ids:
        await app.token_for(installation)
    server.delay = 1.0
    server.max_in_flight = 0
    async with trio.open_nursery() as nursery:
        for installation in ids:
            nursery.start_soon(app.client_for(installation).getitem, "/repos/o/r")
    assert server.max_in_flight == max_in_flight


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
    autojump_clock: trio.testing.MockClock, server: LocalGitHub
) -> None:
    async with server.http() as http:
        async with GitHubApp(app_id=1, user_agent="ua", http=http) as app:
            app.client_for(1)
        assert not http.is_closed
