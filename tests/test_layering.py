"""The layering rules of DESIGN.md and of README.md's Layout, checked."""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
import types
from pathlib import Path

import pytest

import snekomatic
import snekomatic.gh

SNEKOMATIC_DIR = Path(snekomatic.__file__).parent
SRC_DIR = SNEKOMATIC_DIR.parent
GH_DIR = Path(snekomatic.gh.__file__).parent

# Modules whose use is I/O: the network, the clock, the environment, files, threads, logging.
IO_MODULES = frozenset(
    {
        "anyio",
        "asyncio",
        "httpx",
        "io",
        "logging",
        "os",
        "pathlib",
        "random",
        "select",
        "selectors",
        "shutil",
        "sniffio",
        "socket",
        "ssl",
        "structlog",
        "subprocess",
        "tempfile",
        "threading",
        "time",
        "trio",
        "urllib.request",
    }
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC_DIR).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


# Every module of the project (src/ only), by dotted name.
MODULES = {_module_name(path): path for path in SNEKOMATIC_DIR.rglob("*.py")}


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in the file (under ``TYPE_CHECKING`` and inside
    functions too): ``from package import name`` counts as importing ``package.name`` when that is
    a module of the project, else as importing ``package``."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                names.add(submodule if submodule in MODULES else base)
    return names


def _project_imports(module: str) -> set[str]:
    return {name for name in _imported_modules(MODULES[module]) if name in MODULES}


def _is_io(name: str) -> bool:
    return any(name == io or name.startswith(f"{io}.") for io in IO_MODULES)


def _closure(module: str, *, within: str) -> set[str]:
    """``module`` and every module of package ``within`` that it imports, transitively."""
    seen, todo = set(), [module]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(
            name
            for name in _project_imports(current)
            if name == within or name.startswith(f"{within}.")
        )
    return seen


def test_gh_imports_nothing_else_from_snekomatic() -> None:
    offenders = {
        f"{path.relative_to(GH_DIR)}: {name}"
        for path in GH_DIR.rglob("*.py")
        for name in _imported_modules(path)
        if (name.startswith("snekomatic") and not name.startswith("snekomatic.gh"))
        or name == "snekomatic"
    }
    assert offenders == set()


def test_gh_sansio_and_everything_it_imports_do_no_io() -> None:
    # The modules sansio reaches through its imports, not the packages around them: running
    # gh/__init__.py first is covered by test_the_pure_layer_imports_without_anyio_httpx_or_trio.
    pure = _closure("snekomatic.gh.sansio", within="snekomatic.gh")
    offenders = {
        f"{module}: {name}"
        for module in pure
        for name in _imported_modules(MODULES[module])
        if _is_io(name)
    }

    assert "snekomatic.gh._jwt" in pure  # the closure does follow sansio's private modules
    assert offenders == set()


def import_cycle(package: str) -> list[str]:
    """One cycle in the import graph of ``package``'s modules (every import counts, under
    ``TYPE_CHECKING`` and inside functions too), as ``[a, b, ..., a]``; ``[]`` when it has none."""
    inside = {name for name in MODULES if name == package or name.startswith(f"{package}.")}
    graph = {module: _project_imports(module) & inside for module in inside}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        return list(error.args[1])
    return []


def test_gh_import_graph_has_no_cycle() -> None:
    assert import_cycle("snekomatic.gh") == []


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


# Every package of src/snekomatic (each directory holding an __init__.py, subpackages included): its
# private modules (``_name.py``) are imported only from inside it; others use what its __init__ exports.
PACKAGES = sorted(
    path.parent for path in SNEKOMATIC_DIR.rglob("__init__.py") if path.parent != SNEKOMATIC_DIR
)


def private_module_intrusions(package_dir: Path) -> set[str]:
    """``"importer imports private"`` for each import of a private module of the package in
    ``package_dir`` (a ``_name`` module or subpackage directly in it, or anything below such a
    subpackage) by a module of src/ outside that package."""
    package = _module_name(package_dir / "__init__.py")
    private = {
        name
        for name in MODULES
        if name.rpartition(".")[0] == package and name.rpartition(".")[2].startswith("_")
    }
    return {
        f"{importer} imports {name}"
        for importer in MODULES
        if importer != package and not importer.startswith(f"{package}.")
        for name in _project_imports(importer)
        if any(name == p or name.startswith(f"{p}.") for p in private)
    }


@pytest.mark.parametrize(
    "package_dir", [pytest.param(d, id=_module_name(d / "__init__.py")) for d in PACKAGES]
)
def test_private_modules_are_imported_only_from_inside_their_package(package_dir: Path) -> None:
    assert private_module_intrusions(package_dir) == set()


def test_every_package_is_checked_for_intruders() -> None:
    names = {_module_name(d / "__init__.py") for d in PACKAGES}

    assert {"snekomatic.gh", "snekomatic.gh.testing", "snekomatic.store", "snekomatic.cli"} <= names


# The top-level packages (and modules) of snekomatic in layers, lowest first (README.md's Layout lists
# them from the top down). A module imports only from its own package and from the layers below its package's
# (every import counts, lazy ones inside functions and those under TYPE_CHECKING too); the packages
# of one layer do not import each other.
LAYERS: list[tuple[str, ...]] = [
    # the GitHub App library (nothing else of snekomatic); logging and redaction; the pages' look
    ("gh", "logs", "webpage"),
    ("store",),  # the database
    ("inbox",),  # the path of a delivery: ingest, workers, sweeps
    ("features",),  # the bot's behaviours, handlers on the gh router
    ("runtime",),  # a running bot: settings, web server, service, and the wiring of all the above
    ("setup", "dev", "operate"),  # what a person runs: app creation, dev UI, upkeep
    ("cli",),  # the command line
    ("__main__",),  # python -m snekomatic
]


def top_level(module: str) -> str:
    """The top-level package or module of snekomatic that ``module`` belongs to (``"gh"``)."""
    return module.split(".")[1]


def layering_violations() -> set[str]:
    """``"importer imports imported"`` for each import that does not point down the :data:`LAYERS`."""
    layer = {name: index for index, names in enumerate(LAYERS) for name in names}
    return {
        f"{importer} imports {name}"
        for importer in MODULES
        if importer != "snekomatic"  # the root package: __version__ only
        for name in _project_imports(importer)
        if name != "snekomatic"
        and top_level(name) != top_level(importer)
        and layer[top_level(name)] >= layer[top_level(importer)]
    }


def test_every_top_level_package_has_a_layer() -> None:
    top_levels = {top_level(module) for module in MODULES if module != "snekomatic"}

    assert top_levels == {name for names in LAYERS for name in names}


def test_imports_point_down_the_layers() -> None:
    assert layering_violations() == set()
