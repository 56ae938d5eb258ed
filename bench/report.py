"""The comparison part of the report: ratios to the Python floor and the targets of issue 3."""

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
    for key in ("ceiling", "hypercorn", "b", "c"):
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


def targets(results: Sequence[ReceiverResult]) -> list[dict[str, Any]]:
    """The targets of issue 3 (and the load generator's headroom), each met / not met / not measured."""
    found = _by_key(results)
    floor = found.get("a")
    checks: list[dict[str, Any]] = []

    def check(name: str, ok: bool | None, detail: str) -> None:
        checks.append({"target": name, "verdict": _verdict(ok), "detail": detail})

    pg = found.get("c")
    a10 = floor.at(10) if floor else None
    c10 = pg.at(10) if pg else None
    if a10 and c10 and a10.per_second:
        ratio = c10.per_second / a10.per_second
        check("(c) >= 60% of (a) at c=10", ratio >= TARGET_RATIO_AT_10, f"{ratio:.1%}")
    else:
        check("(c) >= 60% of (a) at c=10", None, "(a) or (c) missing")
    if c10:
        p99 = c10.p99_us / 1e3
        check("(c) p99 <= 20 ms at c=10", p99 <= TARGET_P99_AT_10_MS, f"p99 {p99:.2f} ms")
    else:
        check("(c) p99 <= 20 ms at c=10", None, "(c) missing")
    for key in ("b", "c"):
        run = found[key].at(50) if key in found else None
        name = f"({key}) no answer slower than 1 s at c=50"
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
    for key in ("b", "c"):
        if key in found and found[key].rows:
            lost = sum(row.missing for row in found[key].rows)
            readable = all(row.stored is not None for row in found[key].rows)
            check(
                f"({key}) every 2xx answer is a stored row",
                (lost == 0) if readable else None,
                f"{lost} lost" if readable else "deliveries table not readable",
            )
    print("\n=== Targets")
    for item in checks:
        print(f"    [{item['verdict']:>12}] {item['target']}: {item['detail']}")
    return checks
