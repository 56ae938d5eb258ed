from __future__ import annotations

import pytest

from snekomatic.gh.testing import generate_private_key
from tests.log_scanner import find_leaks


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("minted ghs_16C7e42F292c6912E7710c838347Ae178B4a", id="installation-token"),
        pytest.param("auth eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxIn0.c2lnbmF0dXJl", id="jwt"),
        pytest.param("Authorization: Bearer abcdefghijklmnopqrstuvwxyz", id="bearer"),
        pytest.param(generate_private_key(), id="private-key"),
    ],
)
def test_secret_shaped_strings_are_found(line: str) -> None:
    assert find_leaks(f"before {line} after", []) != []


def test_known_secrets_are_found_and_ordinary_lines_are_not() -> None:
    assert find_leaks(
        "webhook secret was It's a Secret to Everybody", ["It's a Secret to Everybody"]
    )
    assert (
        find_leaks('{"event": "delivery processed", "delivery_id": "abc"}', ["It's a Secret"]) == []
    )
