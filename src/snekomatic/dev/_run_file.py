"""The run file of ``snekomatic dev``: where a running dev bot listens and the webhook secret it
checks, so that ``snekomatic replay FILE --dev`` can send it a payload without being told either.

``run_dev`` writes it beside its database (``snekomatic-dev.json`` for ``snekomatic-dev.sqlite3``),
mode 0600 (it holds the dev bot's webhook secret, made for this run), and removes it when it stops.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_RUN_FILE", "DevRun", "DevRunError", "read_run_file", "run_file_for"]

DEFAULT_RUN_FILE = Path("snekomatic-dev.json")


class DevRunError(Exception):
    """No running ``snekomatic dev`` can be found from the run file; the message says why."""


@dataclass(frozen=True, kw_only=True)
class DevRun:
    """A running ``snekomatic dev``, as its run file tells it. ``repr`` hides the secret."""

    pid: int
    webhook_url: str
    simulator_url: str
    database_url: str
    webhook_secret: str = field(repr=False)


def run_file_for(database: Path) -> Path:
    """The run file of a dev bot whose database is ``database``: the same name, ending ``.json``."""
    candidate = database.with_suffix(".json")
    return candidate if candidate != database else database.with_name(database.name + ".run.json")


def write_run_file(path: Path, run: DevRun) -> None:
    """Write ``run`` to ``path`` (replacing it), mode 0600 from the first byte. Raises ``OSError``.
    Blocking."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(asdict(run), file)


def remove_run_file(path: Path) -> None:
    """Remove the run file at ``path`` if it is there. Blocking; ``OSError`` if it cannot be."""
    path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as someone else
        return True
    return True


def read_run_file(path: Path) -> DevRun:
    """The dev run recorded in ``path``. Raises :class:`DevRunError` if there is none, it cannot be
    read, or the process that wrote it is gone. Blocking (a small file)."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DevRunError(
            f"no snekomatic dev is running here: {path} not found (start `snekomatic dev` in "
            "this directory)"
        ) from None
    except OSError as exc:
        raise DevRunError(f"{path} cannot be read: {exc.strerror}") from None
    except ValueError:
        raise DevRunError(f"{path} is not a snekomatic dev run file") from None
    try:
        run = DevRun(**data)
    except TypeError:
        raise DevRunError(f"{path} is not a snekomatic dev run file") from None
    if not _alive(run.pid):
        raise DevRunError(f"the snekomatic dev that wrote {path} (process {run.pid}) has stopped")
    return run
