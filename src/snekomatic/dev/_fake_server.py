"""``snekomatic fake-github``, the fake GitHub of :mod:`snekomatic.gh.testing` served on its own (with
the simulator, :func:`~snekomatic.dev.install_simulator`) for experiments by hand: its app's key."""

from __future__ import annotations

from pathlib import Path

from snekomatic.gh.testing import generate_private_key

__all__ = ["DEFAULT_KEY_FILE", "fake_github_key_file"]

DEFAULT_KEY_FILE = Path("fake-github-key.pem")


def fake_github_key_file(path: Path | None) -> Path:
    """``path``, the app's private key (PEM) for the fake; None: a new key, written to
    :data:`DEFAULT_KEY_FILE` (mode 0600, replacing its contents). Raises ``OSError`` if it cannot
    be written. The key is a secret: it goes to the file only."""
    if path is not None:
        return path
    DEFAULT_KEY_FILE.touch(mode=0o600)
    DEFAULT_KEY_FILE.write_text(generate_private_key())
    return DEFAULT_KEY_FILE
