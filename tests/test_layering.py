"""The layering rules of DESIGN.md, checked."""

from __future__ import annotations

import ast
import subprocess
import sys
import types
from pathlib import Path

import snekomatic.gh

GH_DIR = Path(snekomatic.gh.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_gh_imports_nothing_else_from_snekomatic() -> None:
    offenders = {
        f"{path.relative_to(GH_DIR)}: {name}"
        for path in GH_DIR.rglob("*.py")
        for name in _imported_modules(path)
        if (name.startswith("snekomatic") and not name.startswith("snekomatic.gh"))
        or name == "snekomatic"
    }
    assert offenders == set()


def test_gh_sansio_does_no_io() -> None:
    io_modules = {"httpx", "anyio", "trio", "socket", "os", "time", "logging", "structlog"}
    imported = {name.split(".")[0] for name in _imported_modules(GH_DIR / "sansio.py")}
    assert imported & io_modules == set()


def test_gh_all_lists_exactly_the_public_names() -> None:
    # Submodules appear as attributes once anything imports them: they are not exported names.
    # dir(), not vars(): the I/O layer's names are imported on first use.
    public = {
        name
        for name in dir(snekomatic.gh)
        if not name.startswith("_")
        and not isinstance(getattr(snekomatic.gh, name), types.ModuleType)
    }
    assert set(snekomatic.gh.__all__) == public
    for name in snekomatic.gh.__all__:
        assert getattr(snekomatic.gh, name).__module__.startswith("snekomatic.gh")


def test_httpx_is_imported_only_by_the_client_and_the_fake() -> None:
    importers = {
        str(path.relative_to(GH_DIR))
        for path in GH_DIR.rglob("*.py")
        if any(name.split(".")[0] == "httpx" for name in _imported_modules(path))
    }
    outside_the_fake = {path for path in importers if not path.startswith("testing/")}
    assert outside_the_fake <= {"client.py"}


_IMPORT_WITHOUT_IO = """
import sys

BLOCKED = {"anyio", "httpx", "trio"}


class Unimportable:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ImportError(f"{name} is made unimportable for this test")
        return None


sys.meta_path.insert(0, Unimportable())
import snekomatic.gh.errors
import snekomatic.gh.sansio
from snekomatic.gh import Event, GitHubError, RetryPolicy

try:
    from snekomatic.gh import GitHubClient
except ImportError:
    print("the I/O layer is blocked")
"""


def test_the_pure_layer_imports_without_anyio_httpx_or_trio() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_WITHOUT_IO],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "the I/O layer is blocked\n"  # and the blocking did bite
