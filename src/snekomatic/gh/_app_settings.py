"""A GitHub App's settings as environment variables carry them: their names, and reading them.

Pure: the environment is an argument. Used by :meth:`snekomatic.gh.app.GitHubApp.from_env`, and by any
program that reads the same variables its own way (snekomatic's settings do), so that the text of a
variable means the same everywhere.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Final

__all__ = [
    "ENVIRONMENT_VARIABLES",
    "app_settings_from_env",
    "split_webhook_secrets",
    "unescape_private_key",
]

#: The variable each setting of :class:`~snekomatic.gh.app.GitHubApp` is read from, by argument name.
ENVIRONMENT_VARIABLES: Final = {
    "app_id": "GITHUB_APP_ID",
    "private_key": "GITHUB_PRIVATE_KEY",
    "webhook_secret": "GITHUB_WEBHOOK_SECRET",
    "user_agent": "GITHUB_USER_AGENT",
    "base_url": "GITHUB_API_URL",
}


def unescape_private_key(text: str) -> str:
    """The PEM ``text`` with each literal ``\\n`` (backslash, n) turned into a newline.

    Platforms that cannot hold multi-line values (Heroku's settings page, ``.env`` files) carry a PEM
    on one line that way; a PEM never holds a backslash otherwise. Pure.
    """
    return text.replace("\\n", "\n")


def split_webhook_secrets(text: str) -> list[str]:
    """The webhook secrets in ``text``, separated by commas (several while a secret is rotated).

    Blanks around each are dropped, and so are empty parts: ``"new, old,"`` is ``["new", "old"]``.
    Pure.
    """
    return [part.strip() for part in text.split(",") if part.strip()]


def app_settings_from_env(
    environ: Mapping[str, str], *, skip: Collection[str] = ()
) -> dict[str, str | list[str]]:
    """The settings ``environ`` holds, by argument name of ``GitHubApp``, parsed; ``skip`` names
    arguments not to read.

    A variable that is unset or blank is left out. ``private_key`` is unescaped
    (:func:`unescape_private_key`), ``webhook_secret`` split (:func:`split_webhook_secrets`); the
    others are stripped text. Pure; the values are secrets where the settings are.
    """
    settings: dict[str, str | list[str]] = {}
    for argument, variable in ENVIRONMENT_VARIABLES.items():
        text = environ.get(variable, "").strip()
        if argument in skip or not text:
            continue
        if argument == "private_key":
            settings[argument] = unescape_private_key(text)
        elif argument == "webhook_secret":
            settings[argument] = split_webhook_secrets(text)
        else:
            settings[argument] = text
    return settings
