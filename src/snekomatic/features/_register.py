"""``register_features``: route the features' handlers on a GitHubApp."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from snekomatic.features.invite import InvitationStore, handle_merged_pull_request
from snekomatic.features.orgconfig_source import OrgConfigSource
from snekomatic.features.ping import reply_to_ping
from snekomatic.features.welcome import FeatureOptions
from snekomatic.gh.app import GitHubApp, HandlerContext

__all__ = ["register_features"]


def register_features(
    app: GitHubApp,
    store: InvitationStore,
    *,
    options: FeatureOptions,
    clock: Callable[[], dt.datetime],
    org_config: OrgConfigSource | None = None,
) -> None:
    """Route the features' handlers on ``app``: invite on ``pull_request``/``closed``, and ``/ping``.

    With ``org_config`` (or ``options.org_config``, which makes one), new invitations follow each
    organization's ``.github/snekomatic.yml`` and ``push`` is routed to ``org_config.note_push``.
    ``clock`` gives the time (timezone-aware) the handlers stamp on the store's rows and measure
    invitation pauses against: the clock every other reader of those rows uses (in ``serve`` and
    ``worker``, the database's, :class:`snekomatic.inbox.DatabaseClock`). Call it once per app: calling it twice registers every handler twice. Not a checkpoint.
    """

    if org_config is None and options.org_config:
        org_config = OrgConfigSource()

    @app.route("pull_request", action="closed")
    async def invite_after_merge(ctx: HandlerContext) -> None:
        await handle_merged_pull_request(
            ctx, store=store, options=options, now=clock(), org_config=org_config
        )

    if org_config is not None:
        source = org_config

        @app.route("push")
        async def reread_changed_config(ctx: HandlerContext) -> None:
            source.note_push(ctx.payload)

    app.route_command("/ping")(reply_to_ping)
