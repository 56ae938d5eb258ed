"""Reading ``.github/snekomatic.yml`` through the API, cached, and re-read when a push changes it.

For a pull request in ``org/repo`` the configuration is the file in ``org/.github`` overridden by the
file in ``org/repo`` (:func:`~snekomatic.features.orgconfig.merge_config`). Each file is read with
``GET /repos/{owner}/{repo}/contents/.github/snekomatic.yml`` (needs the ``contents: read``
permission) and kept in memory, per installation, for ``max_age`` seconds; after that it is read again
with ``If-None-Match`` (the client's response cache adds it), which GitHub answers ``304`` without
counting it against the rate limit. A ``push`` that touches the file drops it at once
(:meth:`OrgConfigSource.note_push`), so the next event reads the new version.

A file the bot refuses (see :func:`~snekomatic.features.orgconfig.parse_config`) changes nothing: the
last version of that file that was accepted keeps applying (none: the defaults), and the refusal is
logged once per version of the file (its blob ``sha``), with the file, the line and the reason.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, final

import anyio
import structlog

from snekomatic.features.orgconfig import (
    CONFIG_PATH,
    ORG_CONFIG_REPOSITORY,
    ConfigError,
    ConfigLayer,
    OrgConfig,
    merge_config,
    parse_config,
    push_touches_config,
)
from snekomatic.gh.client import GitHubClient
from snekomatic.gh.errors import Forbidden, GitHubError, NotFound

__all__ = ["CONTENTS_PERMISSION", "CONTENTS_URL", "DEFAULT_MAX_AGE", "OrgConfigSource"]

CONTENTS_URL: Final = "/repos/{owner}/{repo}/contents/" + CONFIG_PATH
CONTENTS_PERMISSION: Final = "repository contents: read"
#: Seconds a file read is used without asking GitHub again (a push that touches it ends this early).
DEFAULT_MAX_AGE: Final = 300.0

log = structlog.get_logger("snekomatic.orgconfig")


@dataclass(frozen=True, kw_only=True)
class _Read:
    """One file as last read: when (``anyio.current_time()``), its blob sha (None: no file), and
    the settings it contributes (for a refused file, the last accepted version's)."""

    at: float
    sha: str | None
    layer: ConfigLayer


def _source(repository: str) -> str:
    return f"{repository}:{CONFIG_PATH}"


def _decode(answer: object, source: str) -> tuple[str, str]:
    """``(sha, text)`` of a contents API answer; raises ConfigError when it is not a readable file."""
    if not isinstance(answer, Mapping) or answer.get("type") != "file":
        raise ConfigError(source, None, "not a file")
    content = answer.get("content")
    if answer.get("encoding") != "base64" or not isinstance(content, str):
        raise ConfigError(source, None, "too large to read through the API (over 1 MB)")
    try:
        raw = base64.b64decode(content)
    except binascii.Error:
        raise ConfigError(source, None, "the API sent content that is not base64") from None
    sha = answer.get("sha")
    if not isinstance(sha, str):
        sha = hashlib.sha1(raw, usedforsecurity=False).hexdigest()
    try:
        return sha, raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(source, None, f"not UTF-8 text (byte {exc.start})") from None


@final
class OrgConfigSource:
    """The per-organization configuration of pull requests' repositories, read and cached.

    One per process (:mod:`snekomatic.runtime` makes it; ``register_features`` routes ``push`` to
    :meth:`note_push`). Not thread-safe; safe to share between the tasks of one event loop. Holds no
    secret: clients are passed in per call.
    """

    def __init__(self, *, max_age: float = DEFAULT_MAX_AGE) -> None:
        self.max_age = max_age
        self._reads: dict[tuple[int, str], _Read] = {}
        self._accepted: dict[tuple[int, str], ConfigLayer] = {}
        self._reported: set[tuple[str, str]] = set()  # (repository, sha) of refused files
        self._forbidden_reported: set[int] = set()  # installations told about the permission

    def __repr__(self) -> str:
        return f"<OrgConfigSource files={len(self._reads)} max_age={self.max_age}>"

    async def config_for(
        self, client: GitHubClient, *, installation_id: int, repository: str
    ) -> OrgConfig:
        """The configuration in force for pull requests in ``repository`` (``"owner/name"``).

        Reads (or revalidates) ``owner/.github`` and then ``repository`` when their cached reads are
        older than ``max_age``. A missing file, repository or permission (404, 403: logged once per
        installation) sets nothing. Raises the client's :class:`GitHubError` for other failures only
        when the file was never read; otherwise the last read is used again, with a warning. A
        checkpoint when it reads; cancelled: nothing is cached for the read in flight.
        """
        owner = repository.partition("/")[0]
        org_repository = f"{owner}/{ORG_CONFIG_REPOSITORY}"
        layers = [await self._layer(client, installation_id, org_repository)]
        if repository.lower() != org_repository.lower():
            layers.append(await self._layer(client, installation_id, repository))
        return merge_config(*layers)

    def invalidate(self, repository: str) -> None:
        """Forget the cached read of ``repository``'s file (every installation). Not a checkpoint."""
        name = repository.lower()
        for key in [key for key in self._reads if key[1] == name]:
            del self._reads[key]

    def note_push(self, payload: Mapping[str, Any]) -> bool:
        """Forget the file a ``push`` payload may have changed; True if it did. Not a checkpoint."""
        repository = push_touches_config(payload)
        if repository is None:
            return False
        self.invalidate(repository)
        log.info("configuration changed", file=_source(repository))
        return True

    async def _layer(
        self, client: GitHubClient, installation_id: int, repository: str
    ) -> ConfigLayer:
        key = (installation_id, repository.lower())
        now = anyio.current_time()
        previous = self._reads.get(key)
        if previous is not None and now - previous.at < self.max_age:
            return previous.layer
        owner, _, name = repository.partition("/")
        try:
            answer = await client.getitem(CONTENTS_URL, {"owner": owner, "repo": name})
        except NotFound:
            self._accepted.pop(key, None)  # removed: a later refused version falls back to defaults
            read = _Read(at=now, sha=None, layer=ConfigLayer(source=_source(repository)))
        except Forbidden as exc:
            if installation_id not in self._forbidden_reported:
                self._forbidden_reported.add(installation_id)
                log.warning(
                    "configuration not readable: missing permission",
                    permission=CONTENTS_PERMISSION,
                    file=_source(repository),
                    github_message=exc.message,
                )
            read = _Read(at=now, sha=None, layer=ConfigLayer(source=_source(repository)))
        except GitHubError as exc:
            if previous is None:
                raise
            log.warning(
                "configuration not re-read: using the last read",
                file=_source(repository),
                error=type(exc).__name__,
            )
            return previous.layer
        else:
            read = self._read_answer(key, repository, answer, previous, now)
        self._reads[key] = read
        return read.layer

    def _read_answer(
        self,
        key: tuple[int, str],
        repository: str,
        answer: object,
        previous: _Read | None,
        now: float,
    ) -> _Read:
        source = _source(repository)
        sha: str | None = None
        try:
            sha, text = _decode(answer, source)
            if previous is not None and previous.sha == sha:
                return _Read(at=now, sha=sha, layer=previous.layer)
            layer = parse_config(text, source=source)
        except ConfigError as error:
            self._report(repository, sha, error)
            fallback = self._accepted.get(key, ConfigLayer(source=source))
            return _Read(at=now, sha=sha, layer=fallback)
        self._accepted[key] = layer
        return _Read(at=now, sha=sha, layer=layer)

    def _report(self, repository: str, sha: str | None, error: ConfigError) -> None:
        seen = (repository.lower(), sha or "")
        if seen in self._reported:
            return
        self._reported.add(seen)
        log.error(
            "configuration file refused: the previous configuration still applies",
            file=error.source,
            line=error.line,
            reason=error.reason,
            sha=sha,
        )
