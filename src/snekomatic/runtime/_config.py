"""Settings, read once from the environment and an optional ``.env`` file.

This module is the only code in snekomatic that reads the environment (STYLE.md 1.7). A command builds
a :class:`Settings` once (:func:`snekomatic.runtime.checked_settings`) and passes plain values down;
nothing else looks up variables.
"""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from snekomatic.gh import split_webhook_secrets, unescape_private_key
from snekomatic.gh.errors import ConfigurationError
from snekomatic.gh.sansio import check_app_private_key
from snekomatic.store import check_database_url

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
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", validation_alias=_env("LOG_LEVEL")
    )
    # One JSON object per line, or structlog's console lines for a person; None: console lines at a
    # terminal, JSON otherwise (Heroku, containers, a file).
    log_format: Literal["console", "json"] | None = Field(
        default=None, validation_alias=_env("LOG_FORMAT")
    )
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

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower_case(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        # Blank is the default (a platform may not let a variable be unset).
        return value.strip().lower() or cls.model_fields[str(info.field_name)].default

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            check_database_url(value.get_secret_value())
        return value

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
        except OSError as exc:
            raise SettingsError(f"INVITE_MESSAGE_FILE cannot be read: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise SettingsError("INVITE_MESSAGE_FILE is not UTF-8 text") from None

    def require(self, *, app: bool, webhooks: bool) -> None:
        """Raise :class:`SettingsError` unless the settings a command uses are there: acting as the
        app (``app``: ``GITHUB_APP_ID`` and a private key that can sign its JWTs) and receiving
        webhooks (``webhooks``: ``GITHUB_WEBHOOK_SECRET``). One line names every missing one."""
        missing = []
        if webhooks and not self.github_webhook_secret:
            missing.append("GITHUB_WEBHOOK_SECRET")
        if app and self.github_app_id is None:
            missing.append("GITHUB_APP_ID")
        if app and self.github_private_key is None and self.github_private_key_path is None:
            missing.append("GITHUB_PRIVATE_KEY (or GITHUB_PRIVATE_KEY_PATH)")
        if len(missing) == 1:
            raise SettingsError(f"{missing[0]} is not set: set it {_WHERE_TO_SET}")
        if missing:
            names = ", ".join(missing[:-1]) + " and " + missing[-1]
            raise SettingsError(f"{names} are not set: set them {_WHERE_TO_SET}")
        if app:
            self._check_private_key()

    def _check_private_key(self) -> None:
        key = self.private_key_pem()
        assert key is not None  # require() saw one of the two settings
        variable = (
            "GITHUB_PRIVATE_KEY"
            if self.github_private_key is not None
            else "GITHUB_PRIVATE_KEY_PATH's file"
        )
        try:
            check_app_private_key(key)
        except ConfigurationError as exc:
            raise SettingsError(f"{variable} {exc.problem}") from None


_WHERE_TO_SET = "in the environment or in .env (`snekomatic setup` writes them for a new app)"

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
    the process and from any ``.env``). Raises :class:`SettingsError` with one line naming every
    malformed variable and what is wrong with it; values are never shown.
    """
    token = _EXPLICIT_ONLY.set(environ is not None)
    try:
        if environ is None:
            return Settings(_env_file=env_file)  # type: ignore[call-arg]
        known: dict[str, Any] = {k: v for k, v in environ.items() if k in _KNOWN_VARIABLES}
        return Settings(**known)
    except ValidationError as exc:
        raise SettingsError(_describe_errors(exc.errors())) from None
    finally:
        _EXPLICIT_ONLY.reset(token)


def _describe_errors(errors: list[ErrorDetails]) -> str:
    """One line for pydantic's ``errors``: each variable once, with what is wrong, never its value."""
    problems: dict[str, str] = {}
    for error in errors:
        location = str(error["loc"][0]) if error["loc"] else "settings"
        variable = _ALIASES.get(location, location.upper())
        if variable in problems:
            continue
        context = error.get("ctx", {})
        if error["type"] == "value_error":  # our validators' messages continue the variable's name
            problems[variable] = f"{variable} {context['error']}"
        elif error["type"] == "literal_error":
            expected = context["expected"].replace("'", "")
            problems[variable] = f"{variable} must be {expected}"
        else:
            problems[variable] = (
                f"{variable} is invalid: {error['msg'][0].lower()}{error['msg'][1:]}"
            )
    return "; ".join(problems.values())
