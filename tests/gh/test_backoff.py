"""gh.exponential_backoff: the one backoff of the project, and the delays its callers had before."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snekomatic.gh import exponential_backoff

attempts = st.integers(-10, 10_000)
bases = st.floats(0, 1e4)
caps = st.floats(0, 1e6)


@given(attempts, bases, caps)
def test_backoff_is_never_negative_and_never_above_the_cap(
    attempt: int, base: float, cap: float
) -> None:
    assert 0.0 <= exponential_backoff(attempt, base=base, cap=cap) <= cap


@given(attempts, bases, caps)
def test_backoff_never_shrinks_as_attempts_grow(attempt: int, base: float, cap: float) -> None:
    later = exponential_backoff(attempt + 1, base=base, cap=cap)

    assert later >= exponential_backoff(attempt, base=base, cap=cap)


@given(st.integers(0, 64), bases, caps)
def test_backoff_is_the_gh_clients_formula(attempt: int, base: float, cap: float) -> None:
    # What gh._retry computed before it called this function (it also stopped doubling at 2 ** 64).
    assert exponential_backoff(attempt, base=base, cap=cap) == float(min(cap, base * 2.0**attempt))


@given(st.integers(1, 64), bases, caps)
def test_backoff_is_the_inbox_workers_formula_one_attempt_later(
    attempts: int, base: float, cap: float
) -> None:
    # The inbox counts failed attempts from 1 (the first retry waits the base): attempts - 1 here.
    before = min(base * math.pow(2, attempts - 1), cap)

    assert exponential_backoff(attempts - 1, base=base, cap=cap) == before


def test_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    delays = [exponential_backoff(n, base=1.0, cap=60.0) for n in range(8)]

    assert delays == [1, 2, 4, 8, 16, 32, 60, 60]


@pytest.mark.parametrize(
    ("count", "cap", "delays"),
    [
        pytest.param(3, 2.0, (0.5, 1.0, 2.0), id="features-not-found-retries"),
        pytest.param(5, 8.0, (0.5, 1.0, 2.0, 4.0, 8.0), id="inbox-settle-retries"),
    ],
)
def test_backoff_gives_the_bots_fixed_retry_delays(
    count: int, cap: float, delays: tuple[float, ...]
) -> None:
    assert tuple(exponential_backoff(n, base=0.5, cap=cap) for n in range(count)) == delays


def test_a_negative_attempt_counts_as_the_first() -> None:
    assert exponential_backoff(-3, base=10.0, cap=3600.0) == 10.0


@pytest.mark.parametrize("attempt", [65, 1_100, 10**100])
def test_a_huge_attempt_gives_the_cap_without_overflow(attempt: int) -> None:
    assert exponential_backoff(attempt, base=10.0, cap=3600.0) == 3600.0


def test_a_zero_base_never_waits() -> None:
    assert exponential_backoff(10**100, base=0.0, cap=3600.0) == 0.0


@pytest.mark.parametrize(
    ("base", "cap"),
    [
        pytest.param(-1.0, 10.0, id="negative-base"),
        pytest.param(1.0, -10.0, id="negative-cap"),
        pytest.param(math.nan, 10.0, id="nan-base"),
        pytest.param(1.0, math.nan, id="nan-cap"),
    ],
)
def test_a_negative_or_nan_base_or_cap_is_refused(base: float, cap: float) -> None:
    with pytest.raises(ValueError, match="base >= 0 and cap >= 0"):
        exponential_backoff(1, base=base, cap=cap)
