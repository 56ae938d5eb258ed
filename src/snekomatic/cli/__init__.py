"""The ``snekomatic`` command line: the click group :func:`main` (the console script) and its commands."""

from snekomatic.cli._serve import main as main

__all__ = ["main"]
