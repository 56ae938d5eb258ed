"""snekomatic.gh._tokens: the app JWT and installation token caches, timed with the autojump clock."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from snekomatic.gh._tokens import (
    AppJWTCache,
    InstallationToken,
    InstallationTokenCache,
    ServerClock,
    installation_key,
    parse_github_time,
)
from snekomatic.gh.testing import FakeClock

EPOCH = 1_700_000_000.0
TOKEN_LIFETIME = 3600.0


# The wall clock, on the event loop's clock: virtual under autojump.
virtual_wall_clock = FakeClock(EPOCH)


class Minter:
    """Mints numbered tokens valid one hour; each mint takes one (virtual) second, like a request."""

    def __init__(self, clock: ServerClock, lifetime: float = TOKEN_LIFETIME) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.minted: list[int] = []

    async def __call__(self, installation_id: int) -> InstallationToken:
        await trio.sleep(1)
        self.minted.append(installation_id)
        now = self.clock.now()
        return InstallationToken(
            token=f"ghs_{installation_id}_{len(self.minted)}",
            expires_at=now + self.lifetime,
            minted_at=now,
        )


def make_cache(lifetime: float = TOKEN_LIFETIME) -> tuple[InstallationTokenCache, Minter]:
    clock = ServerClock(virtual_wall_clock)
    minter = Minter(clock, lifetime)
    return InstallationTokenCache(minter, clock), minter


async def test_hundred_calls_over_an_hour_mint_at_most_two_tokens(
    autojump_clock: trio.testing.MockClock,
) -> None:
    cache, minter = make_cache()
    with trio.fail_after(2 * 3600):
        for _ in range(100):
            await cache.get(42)
            await trio.sleep(36)
    assert len(minter.minted) <= 2


async def test_ten_concurrent_first_calls_mint_exactly_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    cache, minter = make_cache()
    tokens: list[str] = []

    async def ask() -> None:
        tokens.append((await cache.get(42)).token)

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            for _ in range(10):
                nursery.start_soon(ask)
    assert minter.minted == [42]
    assert len(set(tokens)) == 1


async def test_installations_do_not_wait_for_each_other(
    autojump_clock: trio.testing.MockClock,
) -> None:
    cache, minter = make_cache()
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            for installation in (1, 2, 3):
                nursery.start_soon(cache.get, installation)
    assert sorted(minter.minted) == [1, 2, 3]
    assert trio.current_time() == pytest.approx(1.0)


async def test_token_is_reused_until_near_expiry(autojump_clock: trio.testing.MockClock) -> None:
    cache, _ = make_cache()
    first = await cache.get(42)
    await trio.sleep(TOKEN_LIFETIME - 300 - 1)  # 301 s left
    assert await cache.get(42) is first


async def test_token_is_renewed_when_less_than_five_minutes_remain(
    autojump_clock: trio.testing.MockClock,
) -> None:
    cache, _ = make_cache()
    first = await cache.get(42)
    await trio.sleep(TOKEN_LIFETIME - 300 + 1)  # 299 s left
    assert (await cache.get(42)).token != first.token


async def test_larger_min_ttl_renews_earlier(autojump_clock: trio.testing.MockClock) -> None:
    cache, _ = make_cache()
    first = await cache.get(42)
    await trio.sleep(1800)
    assert (await cache.get(42, min_ttl=300)) is first
    assert (await cache.get(42, min_ttl=2400)).token != first.token


async def test_short_lived_fresh_token_is_returned_without_looping(
    autojump_clock: trio.testing.MockClock,
) -> None:
    cache, minter = make_cache(lifetime=120)
    with trio.fail_after(60):
        await cache.get(42)
    assert len(minter.minted) == 1


@pytest.mark.parametrize("other", [pytest.param("42", id="str"), pytest.param(" 42 ", id="padded")])
async def test_str_and_int_ids_share_one_token(
    autojump_clock: trio.testing.MockClock, other: str
) -> None:
    cache, minter = make_cache()
    assert (await cache.get(42)) is (await cache.get(other))
    assert minter.minted == [42]


async def test_failed_mint_caches_nothing_and_next_call_retries(
    autojump_clock: trio.testing.MockClock,
) -> None:
    clock = ServerClock(virtual_wall_clock)
    healthy = Minter(clock)
    failures = [RuntimeError("GitHub is down")]

    async def flaky(installation_id: int) -> InstallationToken:
        if failures:
            raise failures.pop()
        return await healthy(installation_id)

    cache = InstallationTokenCache(flaky, clock)
    with pytest.raises(RuntimeError):
        await cache.get(42)
    await cache.get(42)
    assert healthy.minted == [42]


async def test_discard_forgets_only_the_current_token(
    autojump_clock: trio.testing.MockClock,
) -> None:
    cache, _ = make_cache()
    first = await cache.get(42)
    cache.discard(42, first)
    second = await cache.get(42)
    cache.discard("42", first)  # stale: someone already replaced it
    assert (await cache.get(42)) is second
    assert second.token != first.token


async def test_token_is_fresh_only_within_a_minute_of_minting(
    autojump_clock: trio.testing.MockClock,
) -> None:
    cache, _ = make_cache()
    token = await cache.get(42)
    fresh_then = cache.is_fresh(token)
    await trio.sleep(60)
    assert (fresh_then, cache.is_fresh(token)) == (True, False)


def test_token_repr_hides_the_token() -> None:
    token = InstallationToken(token="ghs_secret", expires_at=1.0, minted_at=0.0)
    assert "ghs_secret" not in repr(token)


@pytest.mark.parametrize(
    ("value", "key"),
    [
        pytest.param(123, 123, id="int"),
        pytest.param("123", 123, id="str"),
        pytest.param(" 123\n", 123, id="whitespace"),
    ],
)
def test_installation_key(value: int | str, key: int) -> None:
    assert installation_key(value) == key


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("abc", id="letters"),
        pytest.param("", id="empty"),
        pytest.param("-1", id="negative-str"),
        pytest.param(-1, id="negative-int"),
        pytest.param("١٢", id="non-ascii-digits"),
        pytest.param("1.5", id="decimal-point"),
    ],
)
def test_installation_key_rejects_non_ids(value: int | str) -> None:
    with pytest.raises(ValueError, match="installation id"):
        installation_key(value)


def test_installation_key_rejects_bool() -> None:
    with pytest.raises(TypeError):
        installation_key(True)


@pytest.mark.parametrize(
    ("value", "epoch"),
    [
        pytest.param("2016-07-11T22:14:10Z", 1468275250.0, id="zulu"),
        pytest.param("2016-07-11T23:14:10+01:00", 1468275250.0, id="offset"),
    ],
)
def test_parse_github_time(value: str, epoch: float) -> None:
    assert parse_github_time(value) == epoch


def test_parse_github_time_rejects_naive_time() -> None:
    with pytest.raises(ValueError, match="time zone"):
        parse_github_time("2016-07-11T22:14:10")


class Encoder:
    def __init__(self) -> None:
        self.built_at: list[float] = []

    def __call__(self, now: float) -> tuple[str, float]:
        self.built_at.append(now)
        return f"jwt-{len(self.built_at)}", now - 60 + 600


async def test_jwt_is_reused_while_more_than_a_minute_is_left(
    autojump_clock: trio.testing.MockClock,
) -> None:
    encoder = Encoder()
    cache = AppJWTCache(encoder, ServerClock(virtual_wall_clock))
    first = cache.get()
    await trio.sleep(540 - 60 - 1)  # 61 s left
    assert cache.get() == first
    assert len(encoder.built_at) == 1


async def test_jwt_is_rebuilt_with_a_minute_or_less_left(
    autojump_clock: trio.testing.MockClock,
) -> None:
    encoder = Encoder()
    cache = AppJWTCache(encoder, ServerClock(virtual_wall_clock))
    first = cache.get()
    await trio.sleep(540 - 60)
    assert cache.get() != first


def test_jwt_is_built_on_the_corrected_clock() -> None:
    encoder = Encoder()
    clock = ServerClock(lambda: EPOCH)
    cache = AppJWTCache(encoder, clock)
    clock.offset = -120.0
    cache.get()
    assert encoder.built_at == [EPOCH - 120.0]


def test_discarded_jwt_is_rebuilt() -> None:
    encoder = Encoder()
    cache = AppJWTCache(encoder, ServerClock(lambda: EPOCH))
    cache.get()
    cache.discard()
    cache.get()
    assert len(encoder.built_at) == 2
