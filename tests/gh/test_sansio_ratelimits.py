"""x-ratelimit-* headers and retry-after."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snekomatic.gh.sansio import (
    SECONDARY_RATE_LIMIT_MIN_WAIT,
    WRITE_INTERVAL_SECONDS,
    RateLimit,
    parse_retry_after,
)

NOW = 1_700_000_000.0
GITHUB_HEADERS = {
    "x-ratelimit-limit": "5000",
    "x-ratelimit-remaining": "4987",
    "x-ratelimit-reset": "1700003600",
    "x-ratelimit-used": "13",
    "x-ratelimit-resource": "core",
}


def test_pacing_constants_match_githubs_guidance() -> None:
    assert SECONDARY_RATE_LIMIT_MIN_WAIT == 60.0
    assert WRITE_INTERVAL_SECONDS == 1.0


def test_rate_limit_reads_all_headers() -> None:
    assert RateLimit.from_headers(GITHUB_HEADERS) == RateLimit(
        limit=5000, remaining=4987, reset_at=1_700_003_600.0, used=13, resource="core"
    )


def test_rate_limit_header_names_are_case_insensitive() -> None:
    headers = {name.title(): value for name, value in GITHUB_HEADERS.items()}

    assert RateLimit.from_headers(headers) == RateLimit.from_headers(GITHUB_HEADERS)


@pytest.mark.parametrize(
    "missing", ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"]
)
def test_rate_limit_is_none_without_a_required_header(missing: str) -> None:
    headers = dict(GITHUB_HEADERS)
    del headers[missing]

    assert RateLimit.from_headers(headers) is None


@pytest.mark.parametrize(
    "value",
    ["", "abc", "-1", "1.5", " 5", "1_000", "٣", "9" * 100_000],
    ids=["empty", "letters", "negative", "fraction", "space", "underscore", "non-ascii", "huge"],
)
def test_rate_limit_is_none_when_a_required_header_is_malformed(value: str) -> None:
    assert RateLimit.from_headers({**GITHUB_HEADERS, "x-ratelimit-remaining": value}) is None


def test_optional_headers_become_none_when_absent() -> None:
    headers = {
        name: value
        for name, value in GITHUB_HEADERS.items()
        if name not in ("x-ratelimit-used", "x-ratelimit-resource")
    }

    limit = RateLimit.from_headers(headers)

    assert limit is not None
    assert (limit.used, limit.resource) == (None, None)


def test_malformed_used_becomes_none_alone() -> None:
    limit = RateLimit.from_headers({**GITHUB_HEADERS, "x-ratelimit-used": "lots"})

    assert limit is not None
    assert (limit.used, limit.remaining) == (None, 4987)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("0", 0.0, id="zero"),
        pytest.param("120", 120.0, id="seconds"),
        pytest.param(" 30 ", 30.0, id="surrounding-spaces"),
        pytest.param("Tue, 14 Nov 2023 22:14:20 GMT", 60.0, id="http-date-ahead"),
        pytest.param("Tue, 14 Nov 2023 22:13:20 GMT", 0.0, id="http-date-now"),
        pytest.param("Tue, 14 Nov 2023 21:00:00 GMT", 0.0, id="http-date-past-clamped"),
    ],
)
def test_retry_after_is_seconds_from_now(value: str, expected: float) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "soon",
        "-5",
        "1.5",
        "1e3",
        "0x10",
        "٣",
        "9" * 100_000,
        "Tue, 99 Nov 2023 22:14:20 GMT",
    ],
    ids=[
        "absent",
        "empty",
        "word",
        "negative",
        "fraction",
        "exponent",
        "hex",
        "non-ascii-digit",
        "huge",
        "impossible-date",
    ],
)
def test_retry_after_garbage_is_none(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


@given(value=st.text(), now=st.floats(min_value=0, max_value=4e9))
def test_retry_after_is_never_negative(value: str, now: float) -> None:
    result = parse_retry_after(value, now)

    assert result is None or result >= 0


@given(
    moment=st.datetimes(min_value=datetime(1971, 1, 1), timezones=st.just(UTC)),
    now=st.floats(min_value=0, max_value=4e9),
)
def test_retry_after_http_date_is_never_negative(moment: datetime, now: float) -> None:
    value = email.utils.format_datetime(moment, usegmt=True)

    result = parse_retry_after(value, now)

    assert result is not None and result >= 0
