"""The comparison part of the report: a summary table, ratios to the Python floor and to the faster
durable peer, and the targets of issues 3 (ingest, workers off) and 10 (as deployed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.suite import ReceiverResult

# Issue 3, "Must show": (c) >= 60 % of (a)'s throughput at concurrency 10 with p99 <= 20 ms, and no
# answer slower than 1 s at concurrency 50.
TARGET_RATIO_AT_10 = 0.60
TARGET_P99_AT_10_MS = 20.0
TARGET_MAX_AT_50_MS = 1000.0
# The load generator is not the bottleneck when the trivial server answers this much faster than (a).
CEILING_HEADROOM = 2.0


def _by_key(results: Sequence[ReceiverResult]) -> dict[str, ReceiverResult]:
    return {result.key: result for result in results if result.skipped is None and result.runs}


def ratios(results: Sequence[ReceiverResult], concurrencies: Sequence[int]) -> dict[str, Any]:
    """Throughput of each receiver divided by (a)'s, per concurrency; printed as it is computed."""
    found = _by_key(results)
    floor = found.get("a")
    table: dict[str, Any] = {}
    print("\n=== Throughput relative to (a), the bare signature-checking receiver")
    if floor is None:
        print("    (a) was not measured: no ratios")
        return table
    for key in ("ceiling", "hypercorn", "probot", "gidgethub", "c", "b", "c0", "b0"):
        result = found.get(key)
        if result is None:
            print(f"    ({key}) / (a): not measured")
            continue
        row: dict[str, float] = {}
        for concurrency in concurrencies:
            mine, base = result.at(concurrency), floor.at(concurrency)
            if mine is not None and base is not None and base.per_second:
                row[str(concurrency)] = mine.per_second / base.per_second
        table[key] = row
        shown = "   ".join(f"c={c}: {value:6.1%}" for c, value in row.items())
        print(f"    ({key}) / (a): {shown}")
    return table


def _verdict(ok: bool | None) -> str:
    return {True: "met", False: "NOT MET", None: "not measured"}[ok]


def targets(
    results: Sequence[ReceiverResult], latency: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The targets of issue 3 (and the load generator's headroom) and of issue 10 (with the invite
    latency's figures when given), each met / not met / not measured; printed."""
    found = _by_key(results)
    floor = found.get("a")
    checks: list[dict[str, Any]] = []

    def check(name: str, ok: bool | None, detail: str) -> None:
        checks.append({"target": name, "verdict": _verdict(ok), "detail": detail})

    pg = found.get("c0")
    a10 = floor.at(10) if floor else None
    c10 = pg.at(10) if pg else None
    if a10 and c10 and a10.per_second:
        ratio = c10.per_second / a10.per_second
        check("issue 3: (c0) >= 60% of (a) at c=10", ratio >= TARGET_RATIO_AT_10, f"{ratio:.1%}")
    else:
        check("issue 3: (c0) >= 60% of (a) at c=10", None, "(a) or (c0) missing")
    if c10:
        p99 = c10.p99_us / 1e3
        check("issue 3: (c0) p99 <= 20 ms at c=10", p99 <= TARGET_P99_AT_10_MS, f"p99 {p99:.2f} ms")
    else:
        check("issue 3: (c0) p99 <= 20 ms at c=10", None, "(c0) missing")
    for key in ("b0", "c0"):
        run = found[key].at(50) if key in found else None
        name = f"issue 3: ({key}) no answer slower than 1 s at c=50"
        if run is None:
            check(name, None, f"({key}) missing")
            continue
        worst = run.max_us / 1e3
        ok = worst <= TARGET_MAX_AT_50_MS and run.errors_timeout == 0
        check(name, ok, f"max {worst:.1f} ms, {run.errors_timeout} timeouts")
    ceiling = found.get("ceiling")
    if ceiling and floor:
        headrooms = [
            (c.concurrency, c.per_second / a.per_second)
            for c in ceiling.runs
            if (a := floor.at(c.concurrency)) is not None and a.per_second
        ]
        worst_c, worst = min(headrooms, key=lambda item: item[1])
        check(
            "load generator is not the bottleneck (trivial server >= 2x (a))",
            worst >= CEILING_HEADROOM,
            f"smallest headroom {worst:.1f}x at c={worst_c}",
        )
    for key in ("probot", "gidgethub", "c", "b", "c0", "b0"):
        if key in found and found[key].rows:
            lost = sum(row.missing for row in found[key].rows)
            readable = all(row.stored is not None for row in found[key].rows)
            check(
                f"({key}) every 2xx answer is a stored row",
                (lost == 0) if readable else None,
                f"{lost} lost" if readable else "deliveries table not readable",
            )
    checks.extend(issue10_targets(found, latency or {}))
    print(
        "\n=== Targets (issue 3: ingest with workers off; issue 10: as deployed, default workers)"
    )
    for item in checks:
        print(f"    [{item['verdict']:>12}] {item['target']}: {item['detail']}")
    return checks


# Issue 10, "Must show" (as deployed: serve with its default workers).
PEER_RATIO_PG = 1.0
PEER_RATIO_SQLITE = 0.6
P99_AT_10_MS = 15.0
DRAIN_AT_10_S = 1.0
DRAIN_AT_50_S = 5.0
IDLE_RSS_MB = 70.0
AFTER_LOAD_RSS_MB = 90.0
INVITE_P50_MS = 15.0
PEERS = ("probot", "gidgethub")


def faster_peer(found: dict[str, ReceiverResult], concurrency: int) -> tuple[str, float] | None:
    """(key, deliveries/s) of the faster durable peer at ``concurrency``; None if neither ran."""
    measured = [
        (key, run.per_second)
        for key in PEERS
        if key in found and (run := found[key].at(concurrency)) is not None
    ]
    return max(measured, key=lambda item: item[1]) if measured else None


def peer_ratios(results: Sequence[ReceiverResult], concurrencies: Sequence[int]) -> dict[str, Any]:
    """snekomatic's deliveries/s over the faster durable peer's, per receiver and concurrency."""
    found = _by_key(results)
    table: dict[str, Any] = {}
    print("\n=== snekomatic relative to the faster durable peer (same run, same PostgreSQL server)")
    if not any(key in found for key in PEERS):
        print("    no durable peer was measured: no ratios")
        return table
    for key in ("c", "b", "c0", "b0"):
        result = found.get(key)
        if result is None:
            print(f"    ({key}) / peer: not measured")
            continue
        row: dict[str, Any] = {}
        shown = []
        for concurrency in concurrencies:
            mine, peer = result.at(concurrency), faster_peer(found, concurrency)
            if mine is None or peer is None or not peer[1]:
                continue
            ratio = mine.per_second / peer[1]
            row[str(concurrency)] = {"ratio": round(ratio, 3), "peer": peer[0]}
            shown.append(f"c={concurrency}: {ratio:5.2f}x {peer[0]:<9}")
        table[key] = row
        print(f"    ({key:>2}) / faster peer: {'   '.join(shown)}")
    return table


def issue10_targets(
    found: dict[str, ReceiverResult], latency: dict[str, Any]
) -> list[dict[str, Any]]:
    """Issue 10's figures for serve with default workers: (c) on PostgreSQL, (b) on SQLite."""
    checks: list[dict[str, Any]] = []

    def check(name: str, ok: bool | None, detail: str) -> None:
        checks.append({"target": f"issue 10: {name}", "verdict": _verdict(ok), "detail": detail})

    for key, wanted in (("c", PEER_RATIO_PG), ("b", PEER_RATIO_SQLITE)):
        name = f"({key}) >= {wanted:.1f}x the faster peer at c=10"
        run = found[key].at(10) if key in found else None
        peer = faster_peer(found, 10)
        if run is None or peer is None or not peer[1]:
            check(name, None, f"({key}) or both peers missing")
            continue
        ratio = run.per_second / peer[1]
        check(
            name,
            ratio >= wanted,
            f"{ratio:.2f}x {peer[0]} ({run.per_second:,.0f}/s vs {peer[1]:,.0f}/s)",
        )
    pg = found.get("c")
    run10 = pg.at(10) if pg else None
    if run10 is not None:
        p99 = run10.p99_us / 1e3
        check("(c) p99 <= 15 ms at c=10", p99 <= P99_AT_10_MS, f"p99 {p99:.2f} ms")
    else:
        check("(c) p99 <= 15 ms at c=10", None, "(c) missing")
    for concurrency, limit in ((10, DRAIN_AT_10_S), (50, DRAIN_AT_50_S)):
        name = f"(c) backlog drained within {limit:g} s of the load's end at c={concurrency}"
        drain = pg.drain_at(concurrency) if pg else None
        if drain is None or drain.backlog_at_stop is None:
            check(name, None, "(c) missing")
        elif drain.drain_s is None:
            check(
                name, False, f"backlog {drain.backlog_at_stop}, {drain.left} left at the deadline"
            )
        else:
            check(
                name,
                drain.drain_s <= limit,
                f"backlog {drain.backlog_at_stop}, drained in {drain.drain_s:.2f} s",
            )
    run50 = pg.at(50) if pg else None
    if run50 is not None:
        worst = run50.max_us / 1e3
        check(
            "(c) no answer over 1 s at c=50",
            worst <= TARGET_MAX_AT_50_MS and run50.errors_timeout == 0,
            f"max {worst:.1f} ms, {run50.errors_timeout} timeouts",
        )
    else:
        check("(c) no answer over 1 s at c=50", None, "(c) missing")
    for key in ("c", "b"):
        memory = found[key].memory if key in found else {}
        if "idle_rss_mb" in memory:
            idle = memory["idle_rss_mb"]
            check(f"({key}) idle RSS <= 70 MB", idle <= IDLE_RSS_MB, f"{idle:.0f} MB")
        if "after_load_rss_mb" in memory:
            after = memory["after_load_rss_mb"]
            check(f"({key}) RSS after load <= 90 MB", after <= AFTER_LOAD_RSS_MB, f"{after:.0f} MB")
    for key, label in (("serve_sqlite", "SQLite"), ("serve_postgresql", "PostgreSQL")):
        name = f"webhook -> invitation p50 <= 15 ms, serve on {label}"
        figures = latency.get(key)
        if isinstance(figures, dict) and "p50_ms" in figures:
            p50 = figures["p50_ms"]
            check(name, p50 <= INVITE_P50_MS, f"p50 {p50:.1f} ms")
        else:
            check(name, None, "not measured")
    return checks


def summary_table(results: Sequence[ReceiverResult], concurrencies: Sequence[int]) -> None:
    """One line per receiver: per concurrency deliveries/s, p99 and (when it processes what it
    stores) the backlog at the load's end and the seconds to drain it; then its RSS."""
    print(
        "\n=== Summary: deliveries/s, p99 ms [backlog at stop -> s to drain]; RSS idle/after load MB"
    )
    for result in results:
        if result.skipped is not None or not result.runs:
            print(f"    ({result.key:>9}) skipped: {result.skipped}")
            continue
        cells = []
        for concurrency in concurrencies:
            run = result.at(concurrency)
            if run is None:
                continue
            cell = f"c={concurrency}: {run.per_second:6,.0f} {run.p99_us / 1e3:6.1f}"
            drain = result.drain_at(concurrency)
            if drain is not None and drain.backlog_at_stop is not None:
                took = f"{drain.drain_s:.2f}" if drain.drain_s is not None else "NOT drained"
                cell += f" [{drain.backlog_at_stop} -> {took}]"
            cells.append(cell)
        memory = result.memory
        rss = (
            f"   RSS {memory['idle_rss_mb']:.0f}/{memory['after_load_rss_mb']:.0f}"
            if "idle_rss_mb" in memory and "after_load_rss_mb" in memory
            else ""
        )
        print(f"    ({result.key:>9}) {'   '.join(cells)}{rss}")
