"""snekomatic.gh: a library for writing GitHub Apps, on anyio (so it runs under Trio and asyncio alike).

Layers, each importing only those below it::

    gh.testing          a stateful fake GitHub on loopback
    gh.app              GitHubApp: credentials, token cache, routing, dispatch
    gh.webhook_sender   signs and sends a webhook as GitHub does (to replay one, or in tests)
    gh.client           the async REST + GraphQL client (the only module that imports httpx)
    gh.sansio           pure rules: signatures, events, JWT claims, Link and rate-limit headers
    gh.errors           the exception tree

This package imports nothing else from snekomatic.
"""

import typing

# The pure layer is imported at once: importing it needs neither anyio nor httpx.
from snekomatic.gh._app_settings import split_webhook_secrets as split_webhook_secrets
from snekomatic.gh._app_settings import unescape_private_key as unescape_private_key
from snekomatic.gh._backoff import exponential_backoff as exponential_backoff
from snekomatic.gh._cache import ResponseCache as ResponseCache
from snekomatic.gh._retry import RetryPolicy as RetryPolicy
from snekomatic.gh.commands import Command as Command
from snekomatic.gh.commands import parse_commands as parse_commands
from snekomatic.gh.errors import BadRequest as BadRequest
from snekomatic.gh.errors import ConfigurationError as ConfigurationError
from snekomatic.gh.errors import Forbidden as Forbidden
from snekomatic.gh.errors import ForbiddenURL as ForbiddenURL
from snekomatic.gh.errors import GitHubError as GitHubError
from snekomatic.gh.errors import GitHubTransportError as GitHubTransportError
from snekomatic.gh.errors import GraphQLError as GraphQLError
from snekomatic.gh.errors import HTTPError as HTTPError
from snekomatic.gh.errors import InvalidSignature as InvalidSignature
from snekomatic.gh.errors import MalformedHeader as MalformedHeader
from snekomatic.gh.errors import MalformedPayload as MalformedPayload
from snekomatic.gh.errors import MissingHeader as MissingHeader
from snekomatic.gh.errors import NoInstallation as NoInstallation
from snekomatic.gh.errors import NotFound as NotFound
from snekomatic.gh.errors import PayloadTooLarge as PayloadTooLarge
from snekomatic.gh.errors import RateLimited as RateLimited
from snekomatic.gh.errors import RateLimitExceeded as RateLimitExceeded
from snekomatic.gh.errors import SecondaryRateLimited as SecondaryRateLimited
from snekomatic.gh.errors import ServerError as ServerError
from snekomatic.gh.errors import Unauthorized as Unauthorized
from snekomatic.gh.errors import UnsupportedMediaType as UnsupportedMediaType
from snekomatic.gh.errors import ValidationFailed as ValidationFailed
from snekomatic.gh.errors import WebhookError as WebhookError
from snekomatic.gh.sansio import Event as Event

if typing.TYPE_CHECKING:
    from snekomatic.gh._pacing import LocalWriteSlots as LocalWriteSlots
    from snekomatic.gh._pacing import Pacer as Pacer
    from snekomatic.gh._pacing import Pacing as Pacing
    from snekomatic.gh._pacing import WriteSlots as WriteSlots
    from snekomatic.gh._routing import CommandLimit as CommandLimit
    from snekomatic.gh.app import GitHubApp as GitHubApp
    from snekomatic.gh.app import GithubApp as GithubApp
    from snekomatic.gh.app import HandlerContext as HandlerContext
    from snekomatic.gh.client import Authenticator as Authenticator
    from snekomatic.gh.client import GitHubClient as GitHubClient
    from snekomatic.gh.comments import find_marked_comment as find_marked_comment
    from snekomatic.gh.comments import find_or_create_comment as find_or_create_comment
    from snekomatic.gh.comments import marker_comment as marker_comment
    from snekomatic.gh.webhook_sender import build_webhook_request as build_webhook_request
    from snekomatic.gh.webhook_sender import send_webhook as send_webhook
else:
    import importlib

    # The I/O layer (anyio, httpx) is imported at the first use of one of its names, so that
    # ``import snekomatic.gh.sansio`` (which runs this file first) needs only the pure layer's own
    # dependencies, as h11 does. Hidden from type checkers, which read the imports above instead.
    _IO_NAMES = {
        "LocalWriteSlots": "snekomatic.gh._pacing",
        "Pacer": "snekomatic.gh._pacing",
        "Pacing": "snekomatic.gh._pacing",
        "WriteSlots": "snekomatic.gh._pacing",
        "CommandLimit": "snekomatic.gh._routing",
        "GitHubApp": "snekomatic.gh.app",
        "GithubApp": "snekomatic.gh.app",
        "HandlerContext": "snekomatic.gh.app",
        "Authenticator": "snekomatic.gh.client",
        "GitHubClient": "snekomatic.gh.client",
        "find_marked_comment": "snekomatic.gh.comments",
        "find_or_create_comment": "snekomatic.gh.comments",
        "marker_comment": "snekomatic.gh.comments",
        "build_webhook_request": "snekomatic.gh.webhook_sender",
        "send_webhook": "snekomatic.gh.webhook_sender",
    }

    def __getattr__(name: str) -> object:
        module = _IO_NAMES.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *_IO_NAMES})


__all__ = [
    "Authenticator",
    "BadRequest",
    "Command",
    "CommandLimit",
    "ConfigurationError",
    "Event",
    "Forbidden",
    "ForbiddenURL",
    "GitHubApp",
    "GitHubClient",
    "GitHubError",
    "GitHubTransportError",
    "GithubApp",
    "GraphQLError",
    "HTTPError",
    "HandlerContext",
    "InvalidSignature",
    "LocalWriteSlots",
    "MalformedHeader",
    "MalformedPayload",
    "MissingHeader",
    "NoInstallation",
    "NotFound",
    "Pacer",
    "Pacing",
    "PayloadTooLarge",
    "RateLimitExceeded",
    "RateLimited",
    "ResponseCache",
    "RetryPolicy",
    "SecondaryRateLimited",
    "ServerError",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
    "WebhookError",
    "WriteSlots",
    "build_webhook_request",
    "exponential_backoff",
    "find_marked_comment",
    "find_or_create_comment",
    "marker_comment",
    "parse_commands",
    "send_webhook",
    "split_webhook_secrets",
    "unescape_private_key",
]
