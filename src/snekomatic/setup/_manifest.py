"""The manifest ``snekomatic setup`` sends to GitHub, and the local page that sends it. Pure functions,
except :func:`load_manifest_template`, which reads the template file.

https://docs.github.com/en/apps/sharing-github-apps/registering-a-github-app-from-a-manifest
"""

from __future__ import annotations

import html
import json
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml

from snekomatic.webpage import webpage

__all__ = [
    "MAX_APP_NAME_LENGTH",
    "SetupError",
    "build_manifest",
    "default_manifest_path",
    "load_manifest_template",
    "new_app_url",
    "start_page_html",
]

# GitHub: "Name is too long (maximum is 34 characters)".
MAX_APP_NAME_LENGTH: Final = 34
_REQUIRED_TEMPLATE_KEYS: Final = (
    "name",
    "default_permissions",
    "default_events",
    "hook_attributes",
)


class SetupError(Exception):
    """The setup cannot go on; the message says why and what to do, and never holds a secret."""


def default_manifest_path() -> Path:
    """``./app.yml`` if there is one, else the ``app.yml`` of the checkout this package runs from."""
    here = Path("app.yml")
    if here.is_file():
        return here
    return Path(__file__).resolve().parents[3] / "app.yml"


def load_manifest_template(path: Path) -> dict[str, Any]:
    """The manifest template in ``path`` (YAML). Raises :class:`SetupError` if it is unreadable or
    lacks name, permissions, events or hook attributes. Not a checkpoint (a small file)."""
    try:
        template = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SetupError(f"cannot read the app manifest {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise SetupError(f"the app manifest {path} is not valid YAML: {exc}") from None
    if not isinstance(template, dict):
        raise SetupError(f"the app manifest {path} must be a mapping")
    missing = [key for key in _REQUIRED_TEMPLATE_KEYS if key not in template]
    if missing:
        raise SetupError(f"the app manifest {path} lacks {', '.join(missing)}")
    return template


def build_manifest(
    template: Mapping[str, Any],
    *,
    redirect_url: str,
    name: str | None = None,
    webhook_url: str | None = None,
) -> dict[str, Any]:
    """The manifest GitHub receives: ``template``'s name (or ``name``), description, url, permissions
    and events; our ``redirect_url``; the webhook URL (``webhook_url``, else the template's
    placeholder); never public. Raises :class:`SetupError` for a name GitHub would refuse."""
    app_name = name or str(template["name"])
    if len(app_name) > MAX_APP_NAME_LENGTH:
        raise SetupError(
            f"the app name {app_name!r} is longer than GitHub's {MAX_APP_NAME_LENGTH} characters"
        )
    hook = dict(template["hook_attributes"])
    if webhook_url is not None:
        hook["url"] = webhook_url
    hook.setdefault("active", True)
    manifest: dict[str, Any] = {
        "name": app_name,
        "url": template.get("url", "https://github.com/python-trio/snekomatic"),
        "hook_attributes": hook,
        "redirect_url": redirect_url,
        "public": False,
        "default_permissions": dict(template["default_permissions"]),
        "default_events": list(template["default_events"]),
    }
    if template.get("description"):
        manifest["description"] = template["description"]
    return manifest


def new_app_url(github_url: str, *, org: str | None, state: str) -> str:
    """GitHub's new-app page for the manifest form, for the signed-in user or for ``org``."""
    base = github_url.rstrip("/")
    if org is not None:
        base += f"/organizations/{urllib.parse.quote(org, safe='')}"
    return f"{base}/settings/apps/new?{urllib.parse.urlencode({'state': state})}"


def start_page_html(*, action: str, manifest: Mapping[str, Any]) -> str:
    """The local start page: a form that POSTs ``manifest`` (a hidden field) to ``action``."""
    permissions = "".join(
        f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>"
        for k, v in manifest["default_permissions"].items()
    )
    events = ", ".join(html.escape(str(e)) for e in manifest["default_events"])
    content = f"""<section>
<h2>Create the GitHub App &ldquo;{html.escape(manifest["name"])}&rdquo;</h2>
<p>GitHub will ask you to confirm the app's name, then send you back here.</p>
<h4>Permissions</h4><ul>{permissions}</ul>
<h4>Events</h4><p>{events}</p>
<h4>Webhook URL</h4><p><code>{html.escape(manifest["hook_attributes"]["url"])}</code></p>
<form action="{html.escape(action, quote=True)}" method="post">
<input type="hidden" name="manifest" value="{html.escape(json.dumps(manifest), quote=True)}">
<button type="submit">Create the GitHub App</button>
</form>
</section>"""
    return webpage(
        "Create the snekomatic GitHub App",
        content,
        intro="snekomatic setup: creating the GitHub App from its manifest (app.yml)",
    )
