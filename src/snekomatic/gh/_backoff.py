"""Exponential backoff: how long to wait before the n-th retry of anything. Pure arithmetic."""

from __future__ import annotations

import math

__all__ = ["exponential_backoff"]


def exponential_backoff(attempt: int, *, base: float, cap: float) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): ``min(cap, base * 2 ** attempt)``.

    ``attempt`` 0 waits ``base``, each later one twice as long as the one before, until ``cap``. A
    negative ``attempt`` counts as 0; an attempt however large gives ``cap`` (no overflow). The
    result is never negative, never above ``cap``, and never shorter for a later attempt.

    No jitter: the same arguments always give the same delay. Callers retry one thing serially (a
    request of one installation, one stored delivery), so there is no herd to spread; one that has
    one multiplies the result by its own random factor.

    Raises ``ValueError`` when ``base`` or ``cap`` is negative or NaN. Pure; not a checkpoint.
    """
    if not (base >= 0 and cap >= 0):  # written so that NaN fails too
        raise ValueError("exponential_backoff needs base >= 0 and cap >= 0")
    try:
        delay = math.ldexp(base, max(attempt, 0))  # exactly base * 2 ** attempt
    except OverflowError:
        return float(cap)
    return float(min(cap, delay))
