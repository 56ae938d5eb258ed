"""bench/client_overhead.py runs end to end against the fake GitHub (a few requests, no timing claims)."""

from __future__ import annotations

import trio
from bench.client_overhead import measure_client_overhead

from snekomatic.gh.testing import GitHubWorld


async def test_measure_client_overhead_reports_both_sides_and_their_ratio(
    github_world: GitHubWorld,
) -> None:
    fake = github_world.fake
    with trio.fail_after(30):
        result = await measure_client_overhead(github_world.base_url, 5, rounds=1)
    assert result["raw_us_per_request"] > 0 and result["client_us_per_request"] > 0
    expected_ratio = result["client_us_per_request"] / result["raw_us_per_request"]
    assert abs(result["ratio"] - expected_ratio) < 0.01
    assert len(fake.requests_to("GET", "/rate_limit")) == 2 * 20 + 2 * 5
