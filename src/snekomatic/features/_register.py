"""``register_features``: route the features' handlers on a GithubApp."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from snekomatic.features.invite import InvitationStore, handle_merged_pull_request
from snekomatic.features.ping import reply_to_ping
from snekomatic.features.welcome import FeatureOptions
from snekomatic.gh.app import GithubApp, HandlerContext

__all__ = ["register_features"]


def register_features(
    app: GithubApp,
    store: InvitationStore,
    *,
    options: FeatureOptions,
    clock: Callable[[], float] = time.time,
) -> None:
    """Route the features' handlers on ``app``: invite on ``pull_request``/``closed``, and ``/ping``.

    ``clock`` gives wall-clock epoch seconds for the store's timestamps and the invitation pause (tests
    inject one). Call it once per app: calling it twice registers every handler twice. Not a checkpoint.
    """

    @app.route("pull_request", action="closed")
    async def invite_after_merge(ctx: HandlerContext) -> None:
        now = dt.datetime.fromtimestamp(clock(), dt.UTC)
        await handle_merged_pull_request(ctx, store=store, options=options, now=now)

    app.route_command("/ping")(reply_to_ping)
