"""``snekomatic backfill``: invite the contributors whose merge the bot missed.

The walk itself is :mod:`snekomatic.features.backfill`; this module is the command line around it:
settings, a progress bar over the repositories, the summary, one-line errors.
"""

from __future__ import annotations

import datetime as dt
import sys

import click
import trio

from snekomatic.cli._errors import fail, settings_or_fail, store_or_fail
from snekomatic.features import MissingPermission
from snekomatic.features.backfill import (
    BackfillError,
    BackfillPlan,
    BackfillSummary,
    Outcome,
    Repository,
    begin_backfill,
)
from snekomatic.gh.errors import GitHubError
from snekomatic.inbox import DatabaseClock
from snekomatic.runtime import Settings, feature_options, github_app, start_logging
from snekomatic.store import Store, StoreError

__all__ = ["backfill", "format_summary"]

RESUME_HINT = "what was done is recorded: run the same command again to carry on"


def format_summary(summary: BackfillSummary, *, dry_run: bool) -> list[str]:
    """The summary's lines, as the command prints them. Pure."""

    def people(outcome: Outcome) -> str:
        logins = summary.logins(outcome)
        return f"{len(logins)}" + (f" ({', '.join(logins)})" if logins else "")

    lines = [
        f"repositories walked: {summary.repositories}"
        + (
            f" (and {summary.repositories_done_before} finished by an earlier run)"
            if summary.repositories_done_before
            else ""
        ),
        f"merged pull requests seen: {summary.pull_requests}",
    ]
    if dry_run:
        lines.append(f"would invite: {people(Outcome.WOULD_INVITE)}")
    else:
        lines.append(f"invited: {people(Outcome.INVITED)}")
    lines += [
        f"already members: {summary.count(Outcome.MEMBER)}",
        f"invited before: {summary.count(Outcome.ALREADY_INVITED)}",
        "skipped (bots, excluded, configuration): "
        f"{summary.count(Outcome.SKIPPED_BOT) + summary.count(Outcome.SKIPPED_CONFIG)}",
        f"deferred (invitation rate limit): {people(Outcome.DEFERRED)}",
    ]
    if summary.count(Outcome.BUSY):
        lines.append(f"in progress elsewhere: {people(Outcome.BUSY)}")
    return lines


@click.command()
@click.option("--org", required=True, help="The organization (its login) to backfill.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Only pull requests merged on or after this day (YYYY-MM-DD, UTC). Default: all.",
)
@click.option("--dry-run", is_flag=True, help="List who would be invited; change nothing.")
@click.option("--restart", is_flag=True, help="Ignore the checkpoints of earlier runs.")
@click.option("--verbose", "-v", is_flag=True, help="Log each step (LOG_LEVEL) on stderr.")
def backfill(
    org: str, since: dt.datetime | None, dry_run: bool, restart: bool, verbose: bool
) -> None:
    """Invite the contributors whose merged pull requests the bot missed (it was down, or installed
    later), applying the same rules as on a merge. Safe to interrupt and run again: it carries on
    where it stopped, and nobody is invited twice."""
    settings = settings_or_fail(acts_as_app=True, receives_webhooks=False)
    start_logging(settings, level=None if verbose else "warning")
    store = store_or_fail(settings, migrate=False)
    plan = BackfillPlan(
        since=None if since is None else since.replace(tzinfo=dt.UTC),
        dry_run=dry_run,
        restart=restart,
        options=feature_options(settings),
    )
    summary = BackfillSummary()
    try:
        trio.run(_run, settings, store, org, plan, summary)
    except BackfillError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        _stop(summary, plan, f"interrupted; {RESUME_HINT}", status=130)
    except MissingPermission as exc:
        _stop(summary, plan, str(exc), status=1)
    except GitHubError as exc:
        _stop(summary, plan, f"backfill stopped: {type(exc).__name__}: {exc}; {RESUME_HINT}")
    except StoreError as exc:
        _stop(summary, plan, f"the database cannot be used: {exc}")
    finally:
        store.close()
    for line in format_summary(summary, dry_run=dry_run):
        click.echo(line)


def _stop(summary: BackfillSummary, plan: BackfillPlan, message: str, *, status: int = 1) -> None:
    for line in format_summary(summary, dry_run=plan.dry_run):
        click.echo(line)
    click.echo(f"snekomatic: {message}", err=True)
    sys.exit(status)


def _show(repository: Repository | None) -> str | None:
    return None if repository is None else repository.full_name


async def _run(
    settings: Settings, store: Store, org: str, plan: BackfillPlan, summary: BackfillSummary
) -> None:
    clock = DatabaseClock(store)  # the invitations' rows are read by the deferred sweep's clock
    await clock.synchronise()
    async with github_app(settings, store=store) as app:
        run = await begin_backfill(app, store, org, plan=plan, clock=clock, summary=summary)
        label = f"{'dry run of ' if plan.dry_run else ''}backfill of {run.org.org_login}"
        with click.progressbar(run.repositories, label=label, item_show_func=_show) as bar:
            for repository in bar:
                await run.walk(repository)
        await run.finish()
