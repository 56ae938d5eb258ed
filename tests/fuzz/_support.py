"""Shared pieces of the fuzz tests: the two settings profiles and the seeds taken from real inputs.

Every test in ``tests/fuzz`` is decorated with :data:`FUZZ`, one of two registered Hypothesis profiles:

- ``snekomatic-fuzz`` (the default, run by ``make test``): a bounded number of examples per property,
  so the whole directory takes well under 30 s;
- ``snekomatic-fuzz-long`` (``SNEKOMATIC_FUZZ=long``, run by ``make fuzz``): many more examples
  (``SNEKOMATIC_FUZZ_EXAMPLES``, default 5,000 per property: about 8 minutes), every phase.

Both keep Hypothesis's example database (``.hypothesis/``), so a failure found by a long run is replayed
first by every later run until it is fixed. Neither has a deadline: a shared CI machine is not a timer.
The same properties run under atheris/libFuzzer too (``tests/fuzz/atheris_main.py``) when it is installed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from functools import cache
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from tests.payloads import PAYLOAD_EXAMPLES

LONG = os.environ.get("SNEKOMATIC_FUZZ", "").strip().lower() == "long"

_COMMON: dict[str, Any] = {
    "deadline": None,
    "phases": tuple(Phase),
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
    "print_blob": True,
}
settings.register_profile(
    "snekomatic-fuzz",
    max_examples=int(os.environ.get("SNEKOMATIC_FUZZ_EXAMPLES", "200")),
    **_COMMON,
)
settings.register_profile(
    "snekomatic-fuzz-long",
    max_examples=int(os.environ.get("SNEKOMATIC_FUZZ_EXAMPLES", "5000")),
    **_COMMON,
)
# Applied to each fuzz test as a decorator, so the profile never leaks into the rest of the suite.
FUZZ = settings.get_profile("snekomatic-fuzz-long" if LONG else "snekomatic-fuzz")


# --- seeds: real inputs ----------------------------------------------------------------------------


def one_of_seeds(seeds: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """``st.sampled_from(seeds)`` without a repr of every seed (megabytes for the payload bodies)."""
    return st.integers(0, len(seeds) - 1).map(seeds.__getitem__)


@cache
def payload_bodies() -> tuple[bytes, ...]:
    """The raw bytes of every real webhook payload example, as GitHub would send them."""
    return tuple(path.read_bytes() for path in sorted(PAYLOAD_EXAMPLES.rglob("*.json")))


@cache
def event_names() -> tuple[str, ...]:
    """The ``X-GitHub-Event`` names of the payload examples."""
    return tuple(sorted(path.name for path in PAYLOAD_EXAMPLES.iterdir() if path.is_dir()))


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


@cache
def _payload_strings() -> tuple[str, ...]:
    found: set[str] = set()
    for body in payload_bodies():
        found.update(_strings(json.loads(body)))
    return tuple(sorted(found))


@cache
def hypermedia_templates() -> tuple[str, ...]:
    """The RFC 6570 URL templates GitHub puts in payloads (``.../issues{/number}``, ...)."""
    return tuple(s for s in _payload_strings() if s.startswith("https://") and "{" in s)


@cache
def markdown_bodies() -> tuple[str, ...]:
    """Multi-word strings from the payloads: comment, issue and pull request bodies among them."""
    return tuple(s for s in _payload_strings() if " " in s and not s.startswith("http"))


# The templates the bot itself passes to its client (src/snekomatic/*.py and gh/app.py).
PROJECT_TEMPLATES = (
    "/app",
    "/app-manifests/{code}/conversions",
    "/app/hook/deliveries{?per_page}",
    "/app/hook/deliveries/{delivery_id}/attempts",
    "/app/installations/{installation_id}/access_tokens",
    "/installation/repositories{?per_page}",
    "/orgs/{org}",
    "/orgs/{org}/installation",
    "/orgs/{org}/invitations",
    "/orgs/{org}/members/{username}",
    "/orgs/{org}/memberships/{username}",
    "/orgs/{org}/teams/{team_slug}",
    "/repos/{owner}/{repo}",
    "/repos/{owner}/{repo}/installation",
    "/repos/{owner}/{repo}/issues/comments/{id}/reactions",
    "/repos/{owner}/{repo}/issues/{issue_number}/comments",
    "/repos/{owner}/{repo}/issues/{number}/reactions",
    "/repos/{owner}/{repo}/pulls/comments/{id}/reactions",
    "/repos/{owner}/{repo}/pulls{?state,sort,direction,per_page}",
    "/search/issues{?q,per_page}",
    "/users/{username}",
    "/users/{username}/installation",
)

# Values an attacker controls through a payload (a login, a repository name) and would like to see
# change the endpoint, the origin or the query.
HOSTILE_VALUES = (
    "",
    ".",
    "..",
    "...",
    "%2e",
    "%2E%2e",
    ".%2e",
    "a/b",
    "../..",
    "/",
    "//evil.example",
    "@evil.example",
    "?q=1",
    "#frag",
    "a b",
    "\\",
    "\t",
    "\r\n",
    "\x00",
    "é",
    "\u2024\u2024",  # ONE DOT LEADER, twice
    "\uff0e\uff0e",  # FULLWIDTH FULL STOP, twice
    "{x}",
    "%",
    "%%",
    "https://evil.example/",
)


def hostile_text(max_size: int = 20) -> st.SearchStrategy[str]:
    """Text biased towards the characters that matter to URLs and Markdown."""
    return st.one_of(
        st.sampled_from(HOSTILE_VALUES),
        st.text(alphabet=st.sampled_from("./%2eE?#&=@:\\ {}"), max_size=max_size),
        st.text(max_size=max_size),
    )


# Byte strings that matter to a JSON or form decoder, spliced into real bodies by body mutations.
JSON_TOKENS = (
    b'"',
    b"\\",
    b"\\u",
    b"\\ud800",
    b"\\udfff",
    b"\\u0000",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b" ",
    b"\n",
    b"\x00",
    b"\x1f",
    b"\xff",
    b"\xef\xbb\xbf",
    b"\xed\xa0\x80",  # a UTF-8-encoded surrogate
    b"\xf4\x90\x80\x80",  # beyond U+10FFFF
    b"\xc0\xaf",  # overlong "/"
    b"null",
    b"true",
    b"NaN",
    b"Infinity",
    b"-0",
    b"1e400",
    b"-1e400",
    b"0.1e-400",
    b"01",
    b"1.",
    b"9223372036854775807",
    b"9223372036854775808",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"9" * 700,
    b"1" * 5000,
    b'"action"',
    b'"installation"',
    b'"id"',
    b'{"id":',
    b'"installation":{"id":0}',
    b'"action":1',
    b"\\u0061ction",
    b"%",
    b"&",
    b"=",
    b"+",
    b"payload=",
)


@st.composite
def mutated_bytes(draw: st.DrawFn, seeds: st.SearchStrategy[bytes], *, max_edits: int = 4) -> bytes:
    """A seed with a few byte-level edits: insertions of interesting tokens, deletions, overwrites."""
    data = bytearray(draw(seeds))
    for _ in range(draw(st.integers(0, max_edits))):
        position = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(("insert", "delete", "overwrite", "truncate")))
        if kind == "insert":
            data[position:position] = draw(st.sampled_from(JSON_TOKENS) | st.binary(max_size=8))
        elif kind == "delete":
            del data[position : position + draw(st.integers(1, 16))]
        elif kind == "overwrite" and position < len(data):
            data[position] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[position:]
    return bytes(data)
