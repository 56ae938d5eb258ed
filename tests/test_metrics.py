"""The metrics' arithmetic: the backlog's age, counters by label, rate limits per installation."""

from __future__ import annotations

import datetime as dt

from prometheus_client.parser import text_string_to_metric_families

from snekomatic.gh.sansio import RateLimit
from snekomatic.runtime import Metrics

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
    }


async def test_render_reads_the_backlog_and_the_rate_limits_now() -> None:
    metrics = Metrics()
    metrics.note_accepted(True)
    metrics.note_accepted(True)
    metrics.note_accepted(False)
    metrics.note_settled("retried")
    limit = RateLimit(limit=5000, remaining=4321, reset_at=0, used=None, resource="core")

    async def backlog() -> tuple[int, dt.datetime | None]:
        return 3, NOW - dt.timedelta(seconds=90)

    text = samples(await metrics.render(backlog=backlog, now=NOW, rate_limits={7: {"core": limit}}))

    assert text[("snekomatic_deliveries_accepted_total", ())] == 2
    assert text[("snekomatic_deliveries_duplicate_total", ())] == 1
    assert text[("snekomatic_deliveries_settled_total", (("outcome", "retried"),))] == 1
    assert text[("snekomatic_backlog_deliveries", ())] == 3
    assert text[("snekomatic_backlog_oldest_age_seconds", ())] == 90
    key = ("snekomatic_github_rate_limit_remaining", (("installation", "7"), ("resource", "core")))
    assert text[key] == 4321


async def test_an_empty_backlog_has_no_age_and_processes_do_not_share_counters() -> None:
    first, second = Metrics(), Metrics()
    first.note_accepted(True)

    async def empty() -> tuple[int, dt.datetime | None]:
        return 0, None

    text = samples(await second.render(backlog=empty, now=NOW, rate_limits={}))
    assert text[("snekomatic_backlog_oldest_age_seconds", ())] == 0
    assert text[("snekomatic_deliveries_accepted_total", ())] == 0


async def test_a_rate_limit_without_a_remaining_count_adds_no_sample() -> None:
    metrics = Metrics()
    limit = RateLimit(limit=5000, remaining=None, reset_at=None, used=None, resource="core")

    async def empty() -> tuple[int, dt.datetime | None]:
        return 0, None

    text = samples(await metrics.render(backlog=empty, now=NOW, rate_limits={7: {"core": limit}}))

    assert not any(name == "snekomatic_github_rate_limit_remaining" for name, _ in text)
