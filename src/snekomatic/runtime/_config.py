"""Settings, read once from the environment and an optional ``.env`` file.

This module is the only code in snekomatic that reads the environment (STYLE.md 1.7). A command builds
a :class:`Settings` once (:func:`snekomatic.runtime.checked_settings`) and passes plain values down;
nothing else looks up variables.
"""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from snekomatic.gh import split_webhook_secrets, unescape_private_key

__all__ = ["Settings", "SettingsError", "load_settings"]


class SettingsError(Exception):
    """A setting is missing or malformed. The message names the setting and never shows its value."""


def _env(*names: str) -> Any:
    return AliasChoices(*names)


# Set while load_settings builds Settings from an explicit mapping: then that mapping is the only
# source, and neither the process environment nor a .env file is read.
_EXPLICIT_ONLY: ContextVar[bool] = ContextVar("snekomatic_settings_explicit_only", default=False)


class Settings(BaseSettings):
    """Everything snekomatic can be configured with. Secrets are ``SecretStr``: masked in reprs."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    github_app_id: int | None = Field(default=None, validation_alias=_env("GITHUB_APP_ID"))
    github_private_key: SecretStr | None = Field(
        default=None, validation_alias=_env("GITHUB_PRIVATE_KEY")
    )
    github_private_key_path: Path | None = Field(
        default=None, validation_alias=_env("GITHUB_PRIVATE_KEY_PATH")
    )
    # Several secrets, comma-separated, are all accepted: a secret can be rotated without downtime.
    github_webhook_secret: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        default=(), validation_alias=_env("GITHUB_WEBHOOK_SECRET")
    )
    github_user_agent: str = Field(default="snekomatic", validation_alias=_env("GITHUB_USER_AGENT"))
    github_api_url: str = Field(
        default="https://api.github.com", validation_alias=_env("GITHUB_API_URL")
    )
    database_url: SecretStr | None = Field(default=None, validation_alias=_env("DATABASE_URL"))
    sentry_dsn: SecretStr | None = Field(default=None, validation_alias=_env("SENTRY_DSN"))
    host: str = Field(default="0.0.0.0", validation_alias=_env("HOST"))  # noqa: S104 - a server
    port: int = Field(default=8000, ge=0, le=65535, validation_alias=_env("PORT"))
    workers: int = Field(default=4, ge=0, le=256, validation_alias=_env("SNEKOMATIC_WORKERS"))
    log_level: str = Field(default="info", validation_alias=_env("LOG_LEVEL"))
    # What webhook clients may hold (snekomatic.runtime.HttpLimits): seconds for a body to arrive after
    # its headers, connections at once (lowered to fit the file limit), and MiB of bodies held before
    # their signature is decided (at least one 25 MiB body).
    body_timeout: float = Field(
        default=10.0, gt=0, le=600, validation_alias=_env("SNEKOMATIC_BODY_TIMEOUT")
    )
    max_connections: int = Field(
        default=1000, ge=1, validation_alias=_env("SNEKOMATIC_MAX_CONNECTIONS")
    )
    unverified_body_mib: int = Field(
        default=64, ge=25, validation_alias=_env("SNEKOMATIC_UNVERIFIED_BODY_MIB")
    )
    # Follow each organization's .github/snekomatic.yml. Off by default: it needs the app's
    # "contents: read" permission and the "push" event, beyond the minimal manifest in app.yml.
    org_config: bool = Field(default=False, validation_alias=_env("SNEKOMATIC_ORG_CONFIG"))
    # A welcome message template replacing the built-in one ({login}, {org}, {pr_url}, ...).
    invite_message_file: Path | None = Field(
        default=None, validation_alias=_env("INVITE_MESSAGE_FILE")
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        if _EXPLICIT_ONLY.get():
            return (init_settings,)
        return (init_settings, env_settings, dotenv_settings, file_secret_settings)

    @field_validator("github_webhook_secret", mode="before")
    @classmethod
    def _split_secrets(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(split_webhook_secrets(value))
        if isinstance(value, SecretStr):
            return tuple(split_webhook_secrets(value.get_secret_value()))
        return value

    @field_validator("github_private_key", mode="before")
    @classmethod
    def _unescape_key(cls, value: object) -> object:
        # Heroku config vars and .env files often carry the PEM on one line with literal "\n".
        return unescape_private_key(value) if isinstance(value, str) else value

    @field_validator("github_api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    def webhook_secrets(self) -> list[bytes]:
        return [secret.get_secret_value().encode() for secret in self.github_webhook_secret]

    def private_key_pem(self) -> str | None:
        """The app's private key, from ``GITHUB_PRIVATE_KEY`` or the file ``GITHUB_PRIVATE_KEY_PATH``
        (literal ``\\n`` escapes in either become newlines)."""
        if self.github_private_key is not None:
            return self.github_private_key.get_secret_value()
        if self.github_private_key_path is not None:
            try:
                return unescape_private_key(self.github_private_key_path.read_text())
            except OSError as exc:
                raise SettingsError(
                    f"GITHUB_PRIVATE_KEY_PATH cannot be read: {exc.strerror}"
                ) from None
        return None

    def invite_message(self) -> str | None:
        """The welcome template from ``INVITE_MESSAGE_FILE``, or None for the built-in text."""
        if self.invite_message_file is None:
            return None
        try:
            return self.invite_message_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"INVITE_MESSAGE_FILE cannot be read: {exc}") from None

    def require_app_credentials(self) -> None:
        """Raise :class:`SettingsError` naming the first setting the bot cannot act without."""
        if not self.github_webhook_secret:
            raise SettingsError("GITHUB_WEBHOOK_SECRET is not set (no webhook secret, no start)")
        if self.github_app_id is None:
            raise SettingsError("GITHUB_APP_ID is not set")
        key = self.private_key_pem()
        if key is None:
            raise SettingsError("GITHUB_PRIVATE_KEY (or GITHUB_PRIVATE_KEY_PATH) is not set")
        if "PRIVATE KEY-----" not in key:
            raise SettingsError("GITHUB_PRIVATE_KEY is not a PEM private key")


_ALIASES = {
    name: str(field.validation_alias.choices[0])  # type: ignore[union-attr]
    for name, field in Settings.model_fields.items()
}
_KNOWN_VARIABLES = frozenset(_ALIASES.values())


def load_settings(
    environ: dict[str, str] | None = None, *, env_file: str | None = ".env"
) -> Settings:
    """Read the settings from ``environ``, or else from the process environment and ``env_file``.

    Given ``environ``, only it is read (a test or a command building settings in code is isolated from
    the process and from any ``.env``). Raises :class:`SettingsError` with one line naming the offending variable; values are never shown.
    """
    token = _EXPLICIT_ONLY.set(environ is not None)
    try:
        if environ is None:
            return Settings(_env_file=env_file)  # type: ignore[call-arg]
        known: dict[str, Any] = {k: v for k, v in environ.items() if k in _KNOWN_VARIABLES}
        return Settings(**known)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = str(first["loc"][0]) if first["loc"] else "settings"
        variable = _ALIASES.get(location, location.upper())
        raise SettingsError(f"{variable} is invalid: {first['msg']}") from None
    finally:
        _EXPLICIT_ONLY.reset(token)
