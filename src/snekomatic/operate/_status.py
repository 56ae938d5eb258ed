"""What `snekomatic status` reads from the store and GitHub, and how it lays it out (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from snekomatic.gh.app import GitHubApp
from snekomatic.gh.errors import GitHubError
from snekomatic.inbox import describe_error
from snekomatic.store import DeliveryStatus, DeliverySummary, Invitation, Store

# --- what status reads ----------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class StoreStatus:
    """What the store says about the bot, for :func:`format_store_status`."""

    counts: Mapping[DeliveryStatus, int]
    recent: Sequence[DeliverySummary]
    dead: Sequence[DeliverySummary]
    invitation_counts: Mapping[str, int]  # by state, of every invitation
    invitations: Sequence[Invitation]  # the most recently updated
    paused_orgs: Sequence[tuple[str, dt.datetime]]  # (org login or "#id", paused until)


def read_store_status(store: Store, *, now: dt.datetime, limit: int) -> StoreStatus:
    """Counts, the ``limit`` newest deliveries and dead letters, invitations (counted by state, and
    the ``limit`` most recently updated, at least 10) and the organizations paused at ``now``.

    Synchronous; raises ``StoreUnavailable``.
    """
    return StoreStatus(
        counts=store.count_by_status(),
        recent=store.list_deliveries(limit=limit),
        dead=store.list_deliveries(DeliveryStatus.DEAD, limit=limit),
        invitation_counts=store.count_invitations_by_state(),
        invitations=store.list_invitations(limit=max(limit, 10)),
        paused_orgs=[
            (paused.org_login or f"#{paused.org_id}", paused.until)
            for paused in store.list_throttled_orgs(now=now)
        ],
    )


@dataclass(frozen=True, kw_only=True)
class InstallationState:
    """One installation as GitHub reports it; ``error`` instead of a rate limit when asking failed."""

    installation_id: int
    account: str
    limit: int | None = None
    remaining: int | None = None
    reset_at: dt.datetime | None = None
    error: str | None = None


async def read_installation_states(app: GitHubApp) -> list[InstallationState]:
    """Every installation of the app (``GET /app/installations``) with its core rate limit
    (``GET /rate_limit`` as the installation, which needs a token: a token that cannot be had shows
    as that installation's ``error``).

    Raises the ``GitHubError`` of listing the installations (``ConfigurationError`` without
    credentials). A checkpoint; the caller bounds it in time. Only ids, logins and numbers come back.
    """
    states = []
    async for installation in app.app_client.getiter("/app/installations"):
        installation_id = int(installation["id"])
        account = installation.get("account") or {}
        login = str(account.get("login") or account.get("slug") or "?")
        try:
            answer = await app.client_for(installation_id).getitem("/rate_limit")
        except GitHubError as exc:
            states.append(
                InstallationState(
                    installation_id=installation_id, account=login, error=describe_error(exc)
                )
            )
            continue
        core = answer.get("resources", {}).get("core") or answer.get("rate") or {}
        states.append(
            InstallationState(
                installation_id=installation_id,
                account=login,
                limit=core.get("limit"),
                remaining=core.get("remaining"),
                reset_at=dt.datetime.fromtimestamp(core["reset"], dt.UTC)
                if "reset" in core
                else None,
            )
        )
    return states


# --- formatting (pure) ----------------------------------------------------------------------------

ELLIPSIS = "…"

# Invitation states (see snekomatic.features.invite) grouped the way people ask about them.
INVITATION_GROUPS: Mapping[str, str] = {
    "invited": "sent",
    "commented": "sent",
    "checking": "pending",
    "inviting": "pending",
    "deferred": "deferred",
    "member": "already members",
}


def truncate(text: str, width: int) -> str:
    """``text`` on one line (whitespace runs collapsed), cut to ``width`` characters ending in "…"."""
    line = " ".join(text.split())
    if len(line) <= width:
        return line
    return line[: max(width - 1, 0)] + ELLIPSIS if width > 0 else ""


def format_duration(seconds: float) -> str:
    """``850ms``, ``12.3s``, ``4m05s``, ``2h03m``, ``3d04h`` (negative counts as 0)."""
    seconds = max(seconds, 0.0)
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, width: int) -> list[str]:
    """The rows under their headers in columns two spaces apart, one line per row, no trailing space.

    Each cell is put on one line. Only the last column gives way when the lines would be wider than
    ``width``: it is cut (ending in "…") but never narrower than its header.
    """
    cells = [[" ".join(cell.split()) for cell in row] for row in rows]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]
    room = width - sum(widths[:-1]) - 2 * (len(widths) - 1)
    widths[-1] = min(widths[-1], max(room, len(headers[-1])))
    lines = []
    for row in [list(headers), *cells]:
        parts = [cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=False)]
        parts.append(truncate(row[-1], widths[-1]))
        lines.append("  ".join(parts).rstrip())
    return lines


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _event(delivery: DeliverySummary) -> str:
    return f"{delivery.event}.{delivery.action}" if delivery.action else delivery.event


def _took(delivery: DeliverySummary) -> str:
    if delivery.finished_at is None:
        return ""
    return format_duration((delivery.finished_at - delivery.received_at).total_seconds())


def _counted(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {name}" for name, n in counts.items()) or "none"


def format_store_status(status: StoreStatus, *, now: dt.datetime, width: int) -> list[str]:
    """The store part of ``snekomatic status`` as lines at most ``width`` wide where possible.

    Sections: delivery counts; recent deliveries (TOOK is from receipt to the last attempt's end);
    dead letters with their errors and the replay command; invitations by state; organizations
    whose invitations are paused, until when. Times are UTC. Pure.
    """
    lines = [
        "Deliveries: " + _counted({s.value: status.counts.get(s, 0) for s in DeliveryStatus}),
        "",
        "Recent deliveries (newest first, times UTC):",
    ]
    recent = [
        [
            str(d.id),
            _when(d.received_at),
            _event(d),
            d.delivery_id[:8],
            d.status.value,
            str(d.attempts),
            _took(d),
            d.last_error or "",
        ]
        for d in status.recent
    ]
    headers = ["ID", "RECEIVED", "EVENT", "DELIVERY", "STATUS", "TRIES", "TOOK", "LAST ERROR"]
    lines += format_table(headers, recent, width=width) if recent else ["  (none)"]
    dead_total = status.counts.get(DeliveryStatus.DEAD, 0)
    lines += ["", f"Dead letters ({dead_total}):"]
    if status.dead:
        dead = [
            [str(d.id), _when(d.received_at), _event(d), d.delivery_id, d.last_error or "?"]
            for d in status.dead
        ]
        headers = ["ID", "RECEIVED", "EVENT", "DELIVERY", "ERROR"]
        lines += format_table(headers, dead, width=width)
        lines.append(
            f"Replay one: snekomatic replay --delivery {status.dead[0].id}  (--now: run it here)"
        )
    else:
        lines.append("  (none)")
    groups = dict.fromkeys(INVITATION_GROUPS.values(), 0)
    for state, count in sorted(status.invitation_counts.items()):
        group = INVITATION_GROUPS.get(state, state)
        groups[group] = groups.get(group, 0) + count
    groups = {group: count for group, count in groups.items() if count}
    lines += ["", f"Invitations (all): {_counted(groups)}"]
    shown = [
        [_when(i.updated_at), i.org_login, i.user_login, i.state, i.last_error or ""]
        for i in status.invitations[: len(status.recent) or 10]
    ]
    if shown:
        headers = ["UPDATED", "ORG", "LOGIN", "STATE", "LAST ERROR"]
        lines += format_table(headers, shown, width=width)
    lines += ["", "Invitations paused by GitHub's rate limit:"]
    if status.paused_orgs:
        paused = [
            [org, _when(until), format_duration((until - now).total_seconds())]
            for org, until in status.paused_orgs
        ]
        lines += format_table(["ORG", "UNTIL", "IN"], paused, width=width)
    else:
        lines.append("  (none)")
    return lines


def format_installations(
    states: Sequence[InstallationState], *, now: dt.datetime, width: int
) -> list[str]:
    """The GitHub part of ``snekomatic status``: each installation's core rate limit. Pure."""
    if not states:
        return ["  (the app has no installations)"]
    rows = []
    for state in states:
        limit = (
            f"{state.remaining}/{state.limit}"
            if state.remaining is not None and state.limit is not None
            else "?"
        )
        resets = format_duration((state.reset_at - now).total_seconds()) if state.reset_at else "?"
        token = "ok" if state.error is None else "failed"
        rows.append(
            [
                str(state.installation_id),
                state.account,
                token,
                limit if state.error is None else "",
                resets if state.error is None else "",
                state.error or "",
            ]
        )
    headers = ["INSTALLATION", "ACCOUNT", "TOKEN", "REMAINING", "RESETS IN", "ERROR"]
    return format_table(headers, rows, width=width)
