"""Micro-benchmarks of ``snekomatic.gh.sansio``: signature checks per second and Link header parsing.

Each measurement is a bounded loop timed with ``time.perf_counter``.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Sequence
from typing import Any

from snekomatic.gh import sansio

SIGNED_BODY_BYTES = 10 * 1024
LINK_HEADER_BYTES = 100 * 1024
MEASURE_SECONDS = 0.5


def _per_second(call: Callable[[], object], *, seconds: float = MEASURE_SECONDS) -> float:
    """How many times per second ``call`` runs, over batches adding up to about ``seconds``."""
    batch, done = 200, 0
    started = time.perf_counter()
    elapsed = 0.0
    while elapsed < seconds:
        for _ in range(batch):
            call()
        done += batch
        elapsed = time.perf_counter() - started
    return done / elapsed


def _verifier() -> tuple[str, Callable[[bytes, str, Sequence[bytes]], None]]:
    verify = getattr(sansio, "verify_signature", None)
    if verify is not None:
        return "sansio.verify_signature", verify

    def fallback(body: bytes, header: str, secrets: Sequence[bytes]) -> None:
        received = header.encode("latin-1")
        for secret in secrets:
            if hmac.compare_digest(sansio.signature_for(body, secret).encode("ascii"), received):
                return
        raise ValueError("bad signature")

    return "signature_for + hmac.compare_digest (verify_signature not present yet)", fallback


def signature_checks() -> dict[str, Any]:
    """Verifications per second of a 10 KB body, with 1 secret and with 3 (the right one last)."""
    body = bytes(range(256)) * (SIGNED_BODY_BYTES // 256)
    right = b"the-current-secret"
    header = sansio.signature_for(body, right)
    how, verify = _verifier()
    three = [b"an-old-secret", b"another-old-secret", right]
    return {
        "how": how,
        "body_bytes": len(body),
        "one_secret_per_s": _per_second(lambda: verify(body, header, [right])),
        "three_secrets_per_s": _per_second(lambda: verify(body, header, three)),
    }


def link_header() -> dict[str, Any]:
    """Milliseconds to parse a Link header of about 100 KB (the best of a few runs)."""
    parse = getattr(sansio, "parse_link_header", None)
    if parse is None:
        return {"available": False}
    entries = []
    size, page = 0, 0
    while size < LINK_HEADER_BYTES:
        page += 1
        entry = f'<https://api.github.com/repositories/1300192/issues?per_page=100&page={page}>; rel="page{page}"'
        entries.append(entry)
        size += len(entry) + 2
    header = ", ".join(entries)
    best = float("inf")
    links = 0
    deadline = time.perf_counter() + 2.0
    for _ in range(5):
        started = time.perf_counter()
        links = len(parse(header))
        best = min(best, time.perf_counter() - started)
        if time.perf_counter() > deadline:
            break
    return {"available": True, "header_bytes": len(header), "links": links, "best_ms": best * 1e3}
