"""The rules of GitHub's webhooks and REST API as pure functions: bytes and headers in, values out.

Nothing here reads the clock, the environment, a file or a socket, and nothing logs: the current time is
an argument wherever a rule needs it (the style of h11 and gidgethub's ``sansio``).
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["signature_for"]


def signature_for(body: bytes, secret: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body`` signed with ``secret``.

    https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
    """
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
