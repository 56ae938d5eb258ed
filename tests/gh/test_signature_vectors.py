from __future__ import annotations

import pytest

from snekomatic.gh.sansio import signature_for


@pytest.mark.parametrize(
    ("secret", "body", "expected"),
    [
        pytest.param(
            b"It's a Secret to Everybody",
            b"Hello, World!",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            id="github-docs",
        ),
        pytest.param(
            b"mysecret",
            b'{"foo":"bar"}',
            "sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3",
            id="octokit",
        ),
    ],
)
def test_signature_matches_published_vectors(secret: bytes, body: bytes, expected: str) -> None:
    assert signature_for(body, secret) == expected
