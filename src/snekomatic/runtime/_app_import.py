"""Finding anyone's bot: the ``GitHubApp`` named by ``module:attribute`` (``snekomatic run``).

The user's module holds an app with routes and no settings (``app = GitHubApp()`` plus decorated
handlers); the runtime serves its routes on an app of its own making
(:func:`snekomatic.runtime.app_bot`). A module rather than a factory keeps the bot's code what it
would be with the library alone, and lets the runtime, not the bot, decide the credentials, the
HTTP client and the write pacing: what its guarantees rest on.
"""

from __future__ import annotations

import importlib
import sys

from snekomatic.gh.app import GitHubApp
from snekomatic.runtime._startup import StartupError

__all__ = ["import_app"]

EXAMPLE = "mybot:app"


def import_app(reference: str, *, directory: str | None = None) -> GitHubApp:
    """The GitHubApp ``reference`` names: ``module:attribute`` (``mypackage.bot:app``; the attribute
    may be dotted), imported with ``directory`` first on ``sys.path`` (the command line passes the
    working directory, as ``python -m`` would, so that ``mybot.py`` there is found).

    Raises :class:`StartupError`, in one line, for a reference that is not ``module:attribute``, a
    module that does not exist, a missing attribute, or one that is not a GitHubApp. An exception
    the module itself raises while it is imported (a syntax error, a missing dependency...)
    propagates unchanged: its traceback is what its author needs. Blocking: it runs the module.
    """
    module_name, colon, attribute = reference.partition(":")
    if not colon or not module_name or not attribute:
        raise StartupError(f"{reference!r} is not module:attribute (for example {EXAMPLE})")
    if "/" in module_name or "\\" in module_name or module_name.endswith(".py"):
        raise StartupError(
            f"{reference!r} names a file: give its module instead (mybot:app for mybot.py, run"
            " from the directory that holds it)"
        )
    if module_name.startswith("."):
        raise StartupError(f"{reference!r}: the module name must be absolute, not relative")
    if directory is not None and directory not in sys.path:
        sys.path.insert(0, directory)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not _names_module_or_parent(module_name, exc.name):
            raise  # the module exists, and something it imports does not
        where = "the working directory" if directory is not None else "sys.path"
        raise StartupError(
            f"cannot import {module_name}: no module named {exc.name!r} in {where} or the"
            " installed packages"
        ) from None
    found: object = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            apps = [name for name, value in vars(module).items() if isinstance(value, GitHubApp)]
            hint = f" (its GitHubApps: {', '.join(apps)})" if apps else ""
            raise StartupError(f"{module_name} has no attribute {attribute!r}{hint}")
        found = getattr(found, part)
    if not isinstance(found, GitHubApp):
        raise StartupError(
            f"{reference} is a {type(found).__name__}, not a GitHubApp (write"
            f" `{attribute.rpartition('.')[2]} = GitHubApp()` and route the handlers on it)"
        )
    return found


def _names_module_or_parent(module_name: str, missing: str) -> bool:
    return module_name == missing or module_name.startswith(missing + ".")
