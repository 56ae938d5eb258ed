"""``snekomatic setup``: options into :class:`~snekomatic.setup.SetupOptions`, the flow of
:mod:`snekomatic.setup` run, and its failures as one line on stderr.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import click
import trio

from snekomatic.setup import (
    DEFAULT_API_URL,
    DEFAULT_GITHUB_URL,
    SetupError,
    SetupOptions,
    default_manifest_path,
    run_setup,
)

__all__ = ["setup"]


def _http_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.startswith(("https://", "http://")):
        raise click.BadParameter("must be an http(s) URL")
    return value.rstrip("/") if value is not None else None


@click.command()
@click.option(
    "--org", default=None, help="Create the app in this organization (default: your account)."
)
@click.option(
    "--name",
    default=None,
    help="The app's name; names are unique across GitHub (default: app.yml's name).",
)
@click.option(
    "--webhook-url",
    default=None,
    callback=_http_url,
    help="Where GitHub sends webhooks, e.g. https://bot.example.org/webhook/github "
    "(default: a placeholder to change in the app's settings once the bot is deployed).",
)
@click.option(
    "--github-url",
    default=DEFAULT_GITHUB_URL,
    show_default=True,
    callback=_http_url,
    help="GitHub's web address (GitHub Enterprise Server, or a fake GitHub).",
)
@click.option(
    "--api-url",
    default=DEFAULT_API_URL,
    show_default=True,
    callback=_http_url,
    help="GitHub's API address (e.g. https://ghe.example/api/v3).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    help="Local port for the start page and GitHub's redirect (default: any free port).",
)
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(".env"),
    show_default=True,
    help="Where the app's credentials are written (mode 0600).",
)
@click.option("--force", is_flag=True, help="Replace an existing env file.")
@click.option(
    "--manifest",
    "manifest_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="The app manifest template (default: ./app.yml, else the one shipped with snekomatic).",
)
@click.option("--no-browser", is_flag=True, help="Print the start page's URL; open no browser.")
def setup(
    org: str | None,
    name: str | None,
    webhook_url: str | None,
    github_url: str,
    api_url: str,
    port: int,
    env_file: Path,
    force: bool,
    manifest_path: Path | None,
    no_browser: bool,
) -> None:
    """Create the GitHub App in one click (GitHub's App Manifest flow) and write its credentials.

    Serves a page on 127.0.0.1 that sends app.yml's manifest to GitHub; after you confirm there,
    GitHub redirects back, and the app's id, private key and webhook secret go to the env file.
    Nothing secret is printed.
    """
    import webbrowser  # only this command opens a browser

    options = SetupOptions(
        manifest_path=manifest_path or default_manifest_path(),
        env_file=env_file,
        github_url=github_url,
        api_url=api_url,
        org=org,
        name=name,
        webhook_url=webhook_url,
        port=port,
        force=force,
    )
    try:
        trio.run(
            partial(
                run_setup,
                options,
                echo=click.echo,
                open_browser=None if no_browser else webbrowser.open,
            )
        )
    except SetupError as exc:
        click.echo(f"snekomatic: {exc}", err=True)
        sys.exit(1)
