"""Who is calling the fake, and what they may still spend: credentials, rate windows and faults.

Functions over the fake's state (``FakeGitHubState``), used by the request pipeline and the routes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from snekomatic.gh.testing._auth import (
    AppCaller,
    Caller,
    InstallationCaller,
    IssuedToken,
    new_installation_token,
    parse_authorization,
    verify_app_jwt,
)
from snekomatic.gh.testing._faults import Fault, RandomFault, primary_limit_error
from snekomatic.gh.testing._model import FakeInstallation
from snekomatic.gh.testing._ratelimit import (
    ANONYMOUS_LIMIT,
    APP_LIMIT,
    INSTALLATION_LIMIT,
    RateWindow,
)
from snekomatic.gh.testing._replies import ApiError, bad_credentials

if TYPE_CHECKING:
    from snekomatic.gh.testing._state import FakeGitHubState


def authenticate(fake: FakeGitHubState, authorization: str | None, now: float) -> Caller:
    """The caller an ``Authorization`` header names at server time ``now``; ``ApiError`` 401 if bad.

    A live installation token (either scheme) names its installation; anything else with two dots
    must be the app's JWT.
    """
    if authorization is None:
        return None
    _, credential = parse_authorization(authorization)
    issued = fake.tokens.get(credential)
    if issued is not None:
        installation = fake.installations.get(issued.installation_id)
        if issued.expires_at <= now or installation is None:
            raise bad_credentials()
        return InstallationCaller(installation)
    if credential.count(".") == 2:
        verify_app_jwt(credential, public_key=fake._public_key, app_id=fake.app_id, now=now)
        return AppCaller()
    raise bad_credentials()


def mint_token(
    fake: FakeGitHubState, installation: FakeInstallation, now: float
) -> tuple[str, IssuedToken]:
    token = new_installation_token()
    issued = IssuedToken(
        installation_id=installation.id,
        expires_at=now + fake.token_lifetime,
        permissions=dict(installation.permissions),
    )
    fake.tokens[token] = issued
    return token, issued


def rate_window(fake: FakeGitHubState, caller: Caller, resource: str, now: float) -> RateWindow:
    """The caller's current window in ``resource`` (a new one once the last has reset)."""
    if isinstance(caller, InstallationCaller):
        key, limit = ("installation", caller.installation.id, resource), INSTALLATION_LIMIT
    elif isinstance(caller, AppCaller):
        key, limit = ("app", fake.app_id, resource), APP_LIMIT
    else:
        key, limit = ("anonymous", 0, resource), ANONYMOUS_LIMIT
    window = fake._windows.setdefault(key, RateWindow(limit=limit))
    window.roll(now)
    return window


def caller_description(fake: FakeGitHubState, caller: Caller) -> str:
    if isinstance(caller, InstallationCaller):
        return f"installation ID {caller.installation.id}"
    if isinstance(caller, AppCaller):
        return f"app ID {fake.app_id}"
    return "your IP address"


def primary_limit(
    fake: FakeGitHubState, window: RateWindow, caller: Caller, resource: str
) -> ApiError:
    return primary_limit_error(
        limit=window.limit,
        used=window.used,
        reset_at=window.reset_at,
        resource=resource,
        who=caller_description(fake, caller),
    )


def take_fault(fake: FakeGitHubState, method: str, path: str) -> Fault | RandomFault | None:
    """The fault that strikes this request, or None.

    Counted faults first (the first pending match, with one use consumed); then each matching random
    fault in the order injected draws once, and the first that strikes is the answer (the ones after
    it do not draw).
    """
    for fault in fake.faults:
        if fault.matches(method, path):
            fault.remaining -= 1
            return fault
    for random_fault in fake.random_faults:
        if random_fault.matches(method, path) and random_fault.strikes():
            return random_fault
    return None
