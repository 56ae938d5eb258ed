"""The welcome comment posted with an invitation: the default text, and rendering a template.

A template is Markdown with placeholders in braces. Exactly these are replaced; any other text, braces
included (``{}`` in code, ``{{x}}``), is left as written, so rendering never fails:

=================  =============================================================================
``{login}``        the contributor's login (write ``@{login}`` to mention them)
``{org}``          the organization's login, from the webhook payload
``{pr_url}``       the merged pull request's web address
``{people_url}``   the organization's public member list on the same GitHub host
``{source_url}``   where the bot's source lives (:attr:`FeatureOptions.source_url`)
=================  =============================================================================

A configured template must contain ``{login}`` and ``{org}`` (the comment has to mention both);
:class:`FeatureOptions` refuses one that does not, at start-up, with ``ValueError``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = [
    "DEFAULT_SOURCE_URL",
    "DEFAULT_WELCOME_TEMPLATE",
    "PLACEHOLDERS",
    "REQUIRED_PLACEHOLDERS",
    "FeatureOptions",
    "render_welcome",
    "template_problems",
]

DEFAULT_SOURCE_URL: Final = "https://github.com/python-trio/snekomatic"

PLACEHOLDERS: Final = ("login", "org", "pr_url", "people_url", "source_url")
REQUIRED_PLACEHOLDERS: Final = ("login", "org")
_PLACEHOLDER: Final = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")

_PUBLICIZING_DOCS: Final = (
    "https://docs.github.com/en/account-and-profile/setting-up-and-managing-your-personal-account-on-"
    "github/managing-your-membership-in-organizations/publicizing-or-hiding-organization-membership"
)

# In the spirit of the original snekomatic's message (python-trio/snekomatic), for any organization.
DEFAULT_WELCOME_TEMPLATE: Final = (
    "Hey @{login}, it looks like this is the first pull request of yours we've merged into {org}. "
    "Thank you so much! :tada:\n"
    "\n"
    "If you'd like to keep contributing, we'd love to have you, so I've just sent you an invitation "
    "to join the **{org}** organization on GitHub. If you accept it:\n"
    "\n"
    "* GitHub will subscribe you to notifications for the organization's repositories (you can "
    "unsubscribe whenever the noise gets too much).\n"
    "* You'll be able to help triage issues: label them, close them, and so on.\n"
    "* You'll be able to review and merge other people's pull requests. The expectation is that you "
    "ask when you're unsure, and that changes get a review before they're merged, yours included.\n"
    "* You'll get a *Member* badge next to your name here, and you can appear on the organization's "
    "[public member list]({people_url}) and show its avatar on your profile (membership starts out "
    f"private: [here's how to make it public]({_PUBLICIZING_DOCS})).\n"
    "\n"
    "There's no pressure at all: you're free to decline or ignore the invitation, and you can "
    "keep contributing as much or as little as you like either way. If you decline it, or it "
    "expires, and you change your mind later, just ask in a comment and someone will send you a "
    "new one.\n"
    "\n"
    "If you have questions... well, I'm just a [humble Python script]({source_url}), so I can't "
    "answer them, but post a comment here and one of the humans in {org} will help you out."
)


def template_problems(template: str) -> list[str]:
    """What is wrong with a welcome template (empty list: nothing). Pure."""
    if not template.strip():
        return ["the template is empty"]
    return [
        f"the template has no {{{name}}} placeholder"
        for name in REQUIRED_PLACEHOLDERS
        if f"{{{name}}}" not in template
    ]


@dataclass(frozen=True, kw_only=True)
class FeatureOptions:
    """Settings of the bot's features. Immutable; holds no secret.

    - ``invite_message``: a welcome template (see the module docstring); None: the default text.
      A template missing ``{login}`` or ``{org}``, or blank, raises ``ValueError`` here.
    - ``source_url``: the link behind "humble Python script".
    - ``org_config``: follow each organization's ``.github/snekomatic.yml``
      (:mod:`snekomatic.features.orgconfig`); needs the ``contents: read`` permission and ``push``.
    """

    invite_message: str | None = None
    source_url: str = DEFAULT_SOURCE_URL
    org_config: bool = False

    def __post_init__(self) -> None:
        if self.invite_message is not None:
            problems = template_problems(self.invite_message)
            if problems:
                raise ValueError("invite message: " + "; ".join(problems))

    @property
    def welcome_template(self) -> str:
        """The template in use: the configured one, else :data:`DEFAULT_WELCOME_TEMPLATE`."""
        return self.invite_message if self.invite_message is not None else DEFAULT_WELCOME_TEMPLATE


def render_welcome(
    template: str, *, login: str, org: str, pr_url: str, people_url: str, source_url: str
) -> str:
    """``template`` with the placeholders of the module docstring replaced. Pure; never raises.

    Values are inserted as given, once (a value that itself looks like ``{org}`` is not expanded).
    """
    values: Mapping[str, str] = {
        "login": login,
        "org": org,
        "pr_url": pr_url,
        "people_url": people_url,
        "source_url": source_url,
    }
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)
