"""``GET /metrics`` of a real ``serve``: Prometheus' text format, and figures that match the database."""

from __future__ import annotations

import httpx
import trio
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from snekomatic.store._tables import metadata
from tests.e2e.conftest import Deployment

FLOW_SECONDS = 20


async def scrape(deployment: Deployment) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with httpx.AsyncClient(base_url=deployment.serve.base_url) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def rows_by_status(deployment: Deployment) -> dict[str, int]:
    table = metadata.tables["deliveries"]

    def read() -> dict[str, int]:
        with deployment.engine.connect() as conn:
            statement = select(table.c.status, func.count()).group_by(table.c.status)
            return {status: count for status, count in conn.execute(statement)}

    return await trio.to_thread.run_sync(read)


async def test_metrics_count_what_the_database_holds(deployment: Deployment) -> None:
    world = await deployment.world()
    with trio.fail_after(FLOW_SECONDS):
        _, delivery = await deployment.merge(world, world.contributor)
        assert await deployment.wait_finished(delivery.guid) == "done"
        await deployment.redeliver(delivery)  # a duplicate: answered, not stored again
    metrics = await scrape(deployment)
    rows = await rows_by_status(deployment)

    assert metrics[("snekomatic_deliveries_accepted_total", ())] == sum(rows.values())
    assert metrics[("snekomatic_deliveries_duplicate_total", ())] == 1
    assert metrics[("snekomatic_deliveries_settled_total", (("outcome", "done"),))] == rows["done"]
    assert metrics[("snekomatic_backlog_deliveries", ())] == 0
    assert metrics[("snekomatic_backlog_oldest_age_seconds", ())] == 0
    invitations = (("method", "POST"), ("status", "201"))
    assert metrics[("snekomatic_github_calls_total", invitations)] >= 2  # invitation and comment
    remaining = (
        "snekomatic_github_rate_limit_remaining",
        (
            ("installation", str(world.installation.id)),
            ("resource", "core"),
        ),
    )
    assert 0 < metrics[remaining] <= 5000
