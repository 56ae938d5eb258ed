"""The ``snekomatic`` command: the composition root, where settings, storage, app and nursery meet."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="snekomatic")
def main() -> None:
    """snekomatic: a GitHub App bot that welcomes contributors to your organization."""
