"""The bot's behaviours, as handlers on a :class:`~snekomatic.gh.app.GitHubApp`.

The wiring (:mod:`snekomatic.runtime`) calls :func:`register_features` once, and schedules
:func:`send_deferred_invitations` to run periodically::

    register_features(app, store, options=FeatureOptions(invite_message=text_or_none), clock=clock)

- invite (:mod:`snekomatic.features.invite`): after a contributor's first merged pull request, invite
  them to the organization and post a welcome comment, exactly once.
- ping (:mod:`snekomatic.features.ping`): ``/ping`` gets "pong!" and a heart.

:func:`explain_merge` says, in words, what the invite feature decided for a merged pull request.

Handlers raise :class:`MissingPermission` when the installation lacks a permission: a delivery failing
with it must not be retried (report it once, mark it dead).
"""

from snekomatic.features._errors import MissingPermission as MissingPermission
from snekomatic.features._invite_explain import MergeDecision as MergeDecision
from snekomatic.features._invite_explain import explain_merge as explain_merge
from snekomatic.features._register import register_features as register_features
from snekomatic.features.invite import send_deferred_invitations as send_deferred_invitations
from snekomatic.features.welcome import DEFAULT_SOURCE_URL as DEFAULT_SOURCE_URL
from snekomatic.features.welcome import DEFAULT_WELCOME_TEMPLATE as DEFAULT_WELCOME_TEMPLATE
from snekomatic.features.welcome import FeatureOptions as FeatureOptions

__all__ = [
    "DEFAULT_SOURCE_URL",
    "DEFAULT_WELCOME_TEMPLATE",
    "FeatureOptions",
    "MergeDecision",
    "MissingPermission",
    "explain_merge",
    "register_features",
    "send_deferred_invitations",
]
