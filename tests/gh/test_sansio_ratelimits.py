"""x-ratelimit-* headers and retry-after."""

from __future__ import annotations

import dataclasses
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


FIELDS = {
    "x-ratelimit-limit": "limit",
    "x-ratelimit-remaining": "remaining",
    "x-ratelimit-reset": "reset_at",
    "x-ratelimit-used": "used",
    "x-ratelimit-resource": "resource",
}
WHOLE = RateLimit(limit=5000, remaining=4987, reset_at=1_700_003_600.0, used=13, resource="core")


@pytest.mark.parametrize("missing", list(FIELDS))
def test_a_missing_header_leaves_only_its_field_none(missing: str) -> None:
    headers = {name: value for name, value in GITHUB_HEADERS.items() if name != missing}

    assert RateLimit.from_headers(headers) == dataclasses.replace(WHOLE, **{FIELDS[missing]: None})


MALFORMED_COUNTS = ["", "abc", "-1", "1.5", "1_000", "٣", "0x10", "1e3", "9" * 100_000]
MALFORMED_COUNT_IDS = [
    "empty",
    "letters",
    "negative",
    "fraction",
    "underscore",
    "non-ascii",
    "hex",
    "exponent",
    "huge",
]


@pytest.mark.parametrize(
    "header", ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-used"]
)
@pytest.mark.parametrize("value", MALFORMED_COUNTS, ids=MALFORMED_COUNT_IDS)
def test_a_malformed_count_is_none_and_the_rest_stands(header: str, value: str) -> None:
    limit = RateLimit.from_headers({**GITHUB_HEADERS, header: value})

    assert limit == dataclasses.replace(WHOLE, **{FIELDS[header]: None})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("1700003600", 1_700_003_600.0, id="whole-seconds"),
        pytest.param("1700000000.5", 1_700_000_000.5, id="fraction"),
        pytest.param("1700000000.123456", 1_700_000_000.123456, id="microseconds"),
        pytest.param(" 1700003600 ", 1_700_003_600.0, id="surrounding-spaces"),
    ],
)
def test_reset_is_read_as_epoch_seconds_with_any_fraction(value: str, expected: float) -> None:
    limit = RateLimit.from_headers({**GITHUB_HEADERS, "x-ratelimit-reset": value})

    assert limit is not None
    assert limit.reset_at == expected
    assert (limit.limit, limit.remaining) == (5000, 4987)


@pytest.mark.parametrize(
    "value",
    ["", "soon", "-1", "nan", "inf", "1e9", ".5", "5.", "1.2.3", "1,5", "٣", "9" * 100_000],
    ids=[
        "empty",
        "word",
        "negative",
        "nan",
        "infinity",
        "exponent",
        "no-integer-part",
        "no-fraction-digits",
        "two-points",
        "comma",
        "non-ascii",
        "huge",
    ],
)
def test_a_malformed_reset_is_none_and_the_rest_stands(value: str) -> None:
    limit = RateLimit.from_headers({**GITHUB_HEADERS, "x-ratelimit-reset": value})

    assert limit == dataclasses.replace(WHOLE, reset_at=None)


def test_counts_may_have_surrounding_spaces() -> None:
    headers = {name: f" {value}\t" for name, value in GITHUB_HEADERS.items()}

    assert RateLimit.from_headers(headers) == WHOLE


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="none"),
        pytest.param({"content-type": "application/json"}, id="unrelated"),
        pytest.param(
            {name: "garbage" for name in FIELDS if name != "x-ratelimit-resource"},
            id="all-malformed",
        ),
    ],
)
def test_no_readable_rate_limit_header_gives_none(headers: dict[str, str]) -> None:
    assert RateLimit.from_headers(headers) is None


@given(
    values=st.fixed_dictionaries(
        {},
        optional={name: st.text(max_size=30) for name in FIELDS},
    )
)
def test_any_header_values_parse_without_raising(values: dict[str, str]) -> None:
    limit = RateLimit.from_headers(values)

    assert limit is None or all(
        count is None or count >= 0 for count in (limit.limit, limit.remaining, limit.used)
    )
    assert limit is None or limit.reset_at is None or 0 <= limit.reset_at < float("inf")


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
