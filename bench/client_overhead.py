"""What GitHubClient adds to each request over raw httpx, measured in the same run on the same server.

``measure_client_overhead(base_url, n)`` sends ``n`` sequential GETs of one URL with a raw
``httpx.AsyncClient`` and ``n`` with a ``GitHubClient`` wrapping that same ``httpx.AsyncClient`` (same
connection pool, same headers, no authenticator, no pacer, no cache), alternating the two for ``rounds``
rounds and keeping each side's best round, so a warm-up or a noisy neighbour does not decide the ratio.

Works under Trio and asyncio (anyio). The default path, ``/rate_limit``, is answered to anonymous callers
by the fake GitHub and does not count against its rate limit (as on GitHub).
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from snekomatic.gh.client import GitHubClient
from snekomatic.gh.sansio import request_headers

USER_AGENT = "snekomatic-bench"
WARMUP_REQUESTS = 20


async def _raw_round(http: httpx.AsyncClient, url: str, headers: dict[str, str], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        response = await http.get(url, headers=headers)
        response.raise_for_status()
        response.content  # noqa: B018 (read, as the client does)
    return time.perf_counter() - start


async def _client_round(client: GitHubClient, path: str, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        await client.getitem(path)
    return time.perf_counter() - start


async def measure_client_overhead(
    base_url: str, n: int, *, path: str = "/rate_limit", rounds: int = 3
) -> dict[str, Any]:
    """Per-request microseconds for raw httpx and for GitHubClient, their ratio and difference.

    Returns ``{"n", "rounds", "path", "raw_us_per_request", "client_us_per_request", "ratio",
    "overhead_us_per_request"}`` where ``ratio`` is client / raw (1.0 = no overhead). Raises
    ``httpx.HTTPStatusError`` or a ``snekomatic.gh`` error if the server answers with an error.
    """
    if n < 1 or rounds < 1:
        raise ValueError("n and rounds must be at least 1")
    url = base_url.rstrip("/") + path
    headers = request_headers(user_agent=USER_AGENT)
    async with httpx.AsyncClient(timeout=30.0) as http:
        client = GitHubClient(http, base_url=base_url, user_agent=USER_AGENT)
        await _raw_round(http, url, headers, WARMUP_REQUESTS)
        await _client_round(client, path, WARMUP_REQUESTS)
        raw_best = client_best = float("inf")
        for _ in range(rounds):
            raw_best = min(raw_best, await _raw_round(http, url, headers, n))
            client_best = min(client_best, await _client_round(client, path, n))
    raw_us = raw_best / n * 1e6
    client_us = client_best / n * 1e6
    return {
        "n": n,
        "rounds": rounds,
        "path": path,
        "raw_us_per_request": round(raw_us, 1),
        "client_us_per_request": round(client_us, 1),
        "ratio": round(client_us / raw_us, 3),
        "overhead_us_per_request": round(client_us - raw_us, 1),
    }
