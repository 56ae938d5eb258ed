"""Files in the fake's repositories (default branch only) and the JSON GitHub shows for them.

Pure records and builders: ``GET /repos/{owner}/{repo}/contents/{path}`` answers and ``push`` webhook
bodies. The fake keeps one branch per repository, its default branch; every write is one commit on it.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

from snekomatic.gh.testing._model import FakeInstallation, FakeRepo, FakeUser
from snekomatic.gh.testing._payloads import (
    GITHUB_API_URL,
    GITHUB_HTML_URL,
    format_timestamp,
    installation_lite_json,
    org_json,
    repository_json,
    user_json,
)
from snekomatic.gh.testing._payloads_objects import fake_sha

# GitHub wraps the base64 ``content`` of the contents API at 60 characters a line.
_BASE64_LINE = 60
_ZERO_SHA = "0" * 40


def git_blob_sha(content: bytes) -> str:
    """The git object id of a blob with ``content`` (what the contents API calls ``sha``)."""
    header = f"blob {len(content)}\0".encode()
    return hashlib.sha1(header + content, usedforsecurity=False).hexdigest()


@dataclass(eq=False, kw_only=True)
class FakeFile:
    repo: FakeRepo
    path: str
    content: bytes

    @property
    def sha(self) -> str:
        return git_blob_sha(self.content)


@dataclass(eq=False, kw_only=True)
class FakeCommit:
    """One write to a repository's default branch, as a ``push`` webhook describes it."""

    sha: str
    before: str
    message: str
    author: FakeUser
    timestamp: float
    added: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


@dataclass
class RepoContents:
    """Every repository's files and the head commit of its default branch."""

    files: dict[tuple[int, str], FakeFile] = field(default_factory=dict)
    heads: dict[int, str] = field(default_factory=dict)

    def get(self, repo: FakeRepo, path: str) -> FakeFile | None:
        return self.files.get((repo.id, path.strip("/")))

    def write(
        self, repo: FakeRepo, path: str, content: bytes | None, *, author: FakeUser, now: float
    ) -> FakeCommit:
        """Create, replace or (``content`` None) remove a file, as one new commit. KeyError if a
        removed file does not exist."""
        path = path.strip("/")
        key = (repo.id, path)
        existed = key in self.files
        if content is None:
            del self.files[key]
        else:
            self.files[key] = FakeFile(repo=repo, path=path, content=content)
        before = self.heads.get(repo.id, fake_sha("initial", repo.id))
        sha = fake_sha(before, path, now, git_blob_sha(content or b""))
        self.heads[repo.id] = sha
        commit = FakeCommit(
            sha=sha,
            before=before,
            message=f"{'Delete' if content is None else 'Update'} {path}",
            author=author,
            timestamp=now,
        )
        (
            commit.removed if content is None else commit.modified if existed else commit.added
        ).append(path)
        return commit


def content_json(
    file: FakeFile, *, api_url: str = GITHUB_API_URL, html_url: str = GITHUB_HTML_URL
) -> dict[str, Any]:
    """``GET /repos/{owner}/{repo}/contents/{path}`` for a file: base64 ``content``, blob ``sha``.

    https://docs.github.com/en/rest/repos/contents#get-repository-content
    """
    repo, sha = file.repo, file.sha
    encoded = base64.b64encode(file.content).decode("ascii")
    lines = [encoded[i : i + _BASE64_LINE] for i in range(0, len(encoded), _BASE64_LINE)]
    api = f"{api_url.rstrip('/')}/repos/{repo.full_name}"
    page = f"{html_url.rstrip('/')}/{repo.full_name}/blob/{repo.default_branch}/{file.path}"
    self_url = f"{api}/contents/{file.path}?ref={repo.default_branch}"
    git_url = f"{api}/git/blobs/{sha}"
    return {
        "type": "file",
        "encoding": "base64",
        "size": len(file.content),
        "name": file.path.rsplit("/", 1)[-1],
        "path": file.path,
        "content": "".join(line + "\n" for line in lines),
        "sha": sha,
        "url": self_url,
        "git_url": git_url,
        "html_url": page,
        "download_url": (
            f"https://raw.githubusercontent.com/{repo.full_name}/{repo.default_branch}/{file.path}"
        ),
        "_links": {"self": self_url, "git": git_url, "html": page},
    }


def _committer(user: FakeUser, *, with_username: bool) -> dict[str, Any]:
    result: dict[str, Any] = {
        "name": user.name or user.login,
        "email": user.email or f"{user.id}+{user.login}@users.noreply.github.com",
    }
    if with_username:
        result["username"] = user.login
    return result


def push_payload(
    repo: FakeRepo,
    commit: FakeCommit,
    *,
    pusher: FakeUser,
    installation: FakeInstallation | None,
    api_url: str = GITHUB_API_URL,
    html_url: str = GITHUB_HTML_URL,
) -> dict[str, Any]:
    """The ``push`` webhook for one commit on ``repo``'s default branch.

    https://docs.github.com/en/webhooks/webhook-events-and-payloads#push
    """
    page = f"{html_url.rstrip('/')}/{repo.full_name}"
    commit_json = {
        "id": commit.sha,
        "tree_id": fake_sha("tree", commit.sha),
        "distinct": True,
        "message": commit.message,
        "timestamp": format_timestamp(commit.timestamp),
        "url": f"{page}/commit/{commit.sha}",
        "author": _committer(commit.author, with_username=True),
        "committer": _committer(commit.author, with_username=True),
        "added": list(commit.added),
        "removed": list(commit.removed),
        "modified": list(commit.modified),
    }
    payload: dict[str, Any] = {
        "ref": f"refs/heads/{repo.default_branch}",
        "before": commit.before,
        "after": commit.sha,
        "created": commit.before == _ZERO_SHA,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": f"{page}/compare/{commit.before[:12]}...{commit.sha[:12]}",
        "commits": [commit_json],
        "head_commit": commit_json,
        "repository": repository_json(repo, api_url=api_url, html_url=html_url),
        "pusher": _committer(pusher, with_username=False),
        "sender": user_json(pusher, api_url=api_url, html_url=html_url),
    }
    if repo.org is not None:
        payload["organization"] = org_json(repo.org, api_url=api_url, html_url=html_url)
    if installation is not None:
        payload["installation"] = installation_lite_json(installation)
    return payload
