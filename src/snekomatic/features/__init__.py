"""The bot's behaviours, as handlers on a :class:`~snekomatic.gh.app.GithubApp`.

The composition root calls :func:`register_features` once, and schedules
:func:`send_deferred_invitations` to run periodically::

    register_features(app, store, options=FeatureOptions(invite_message=text_or_none))

- invite (:mod:`snekomatic.features.invite`): after a contributor's first merged pull request, invite
  them to the organization and post a welcome comment, exactly once.
- ping (:mod:`snekomatic.features.ping`): ``/ping`` gets "pong!" and a heart.

Handlers raise :class:`MissingPermission` when the installation lacks a permission: a delivery failing
with it must not be retried (report it once, mark it dead).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from snekomatic.features._errors import MissingPermission as MissingPermission
from snekomatic.features.invite import InvitationStore, handle_merged_pull_request
from snekomatic.features.invite import send_deferred_invitations as send_deferred_invitations
from snekomatic.features.ping import reply_to_ping
from snekomatic.features.welcome import DEFAULT_SOURCE_URL as DEFAULT_SOURCE_URL
from snekomatic.features.welcome import DEFAULT_WELCOME_TEMPLATE as DEFAULT_WELCOME_TEMPLATE
from snekomatic.features.welcome import FeatureOptions as FeatureOptions
from snekomatic.gh.app import GithubApp, HandlerContext

__all__ = [
    "DEFAULT_SOURCE_URL",
    "DEFAULT_WELCOME_TEMPLATE",
    "FeatureOptions",
    "MissingPermission",
    "register_features",
    "send_deferred_invitations",
]


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
