"""The pure retry decisions of gh._retry: backoff arithmetic and which errors are retried."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snekomatic.gh._retry import RetryPolicy, backoff_delay, retry_delay, transport_retry_delay
from snekomatic.gh.errors import (
    BadRequest,
    Forbidden,
    HTTPError,
    NotFound,
    RateLimited,
    SecondaryRateLimited,
    ServerError,
    Unauthorized,
    ValidationFailed,
)

NOW = 1_700_000_000.0
POLICY = RetryPolicy()

policies = st.builds(
    RetryPolicy,
    max_retries=st.integers(0, 10),
    backoff_base=st.floats(0, 1e3),
    backoff_max=st.floats(0, 1e4),
)


@given(policies, st.integers(0, 10_000))
def test_backoff_is_never_negative_and_never_above_the_cap(
    policy: RetryPolicy, attempt: int
) -> None:
    assert 0.0 <= backoff_delay(attempt, policy) <= policy.backoff_max


@given(policies, st.integers(0, 10_000))
def test_backoff_never_shrinks_as_attempts_grow(policy: RetryPolicy, attempt: int) -> None:
    assert backoff_delay(attempt + 1, policy) >= backoff_delay(attempt, policy)


def test_backoff_doubles_from_the_base() -> None:
    assert [backoff_delay(n, POLICY) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]


def _error(cls: type[HTTPError], status: int, **kwargs: Any) -> HTTPError:
    return cls(status, "message", **kwargs)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(_error(BadRequest, 400), id="400"),
        pytest.param(_error(Unauthorized, 401), id="401"),
        pytest.param(_error(Forbidden, 403), id="403-permission"),
        pytest.param(_error(NotFound, 404), id="404"),
        pytest.param(_error(BadRequest, 410), id="410"),
        pytest.param(_error(ValidationFailed, 422), id="422"),
    ],
)
def test_client_errors_are_never_retried(error: HTTPError) -> None:
    assert retry_delay(error, attempt=0, policy=POLICY, now=NOW) is None


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        pytest.param(_error(ServerError, 502), 1.0, id="5xx-backoff"),
        pytest.param(
            _error(SecondaryRateLimited, 403, retry_after=7.0), 7.0, id="secondary-retry-after"
        ),
        pytest.param(_error(SecondaryRateLimited, 429), 60.0, id="secondary-min-wait"),
        pytest.param(_error(RateLimited, 403, reset_at=NOW + 30), 30.0, id="primary-until-reset"),
        pytest.param(_error(RateLimited, 403, reset_at=NOW - 5), 0.0, id="primary-already-reset"),
        pytest.param(
            _error(RateLimited, 429, retry_after=3.0, reset_at=NOW + 30),
            3.0,
            id="primary-retry-after",
        ),
    ],
)
def test_retryable_errors_wait_as_github_asks(error: HTTPError, expected: float) -> None:
    assert retry_delay(error, attempt=0, policy=POLICY, now=NOW) == expected


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(_error(RateLimited, 403, reset_at=NOW + 901), id="primary"),
        pytest.param(_error(SecondaryRateLimited, 403, retry_after=901.0), id="secondary"),
    ],
)
def test_rate_limit_waits_beyond_the_maximum_are_not_retried(error: HTTPError) -> None:
    assert retry_delay(error, attempt=0, policy=POLICY, now=NOW) is None


def test_a_secondary_limit_without_retry_after_waits_at_least_the_backoff() -> None:
    policy = RetryPolicy(backoff_base=100.0, backoff_max=500.0)
    error = _error(SecondaryRateLimited, 403)
    assert retry_delay(error, attempt=1, policy=policy, now=NOW) == 200.0


def test_retries_stop_at_max_retries() -> None:
    error = _error(ServerError, 500)
    assert retry_delay(error, attempt=2, policy=POLICY, now=NOW) == 4.0
    assert retry_delay(error, attempt=3, policy=POLICY, now=NOW) is None


@pytest.mark.parametrize(
    ("method", "retried"),
    [
        ("GET", True),
        ("HEAD", True),
        ("PUT", True),
        ("DELETE", True),
        ("POST", False),
        ("PATCH", False),
    ],
    ids=str,
)
def test_only_idempotent_methods_are_resent_after_a_transport_error(
    method: str, retried: bool
) -> None:
    assert (transport_retry_delay(method, attempt=0, policy=POLICY) is not None) is retried


def test_the_policy_repr_is_readable() -> None:
    assert repr(RetryPolicy()) == (
        "RetryPolicy(max_retries=3, backoff_base=1.0, backoff_max=60.0, "
        "max_rate_limit_wait=900.0, secondary_min_wait=60.0)"
    )


def test_the_policy_rejects_negative_values() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)
