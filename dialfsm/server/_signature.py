r"""Daily's webhook signature: how it is built, and how a delivery is checked.

The construction, as Daily's webhook docs give it (https://docs.daily.co/reference/rest-api/webhooks;
the page's snippet is quoted by public receivers, see ``/work/notes/issue15-research.md`` §1):

    "Webhooks provide an ``hmac``, which is a BASE-64 encoded HMAC-sha256 secret [...]
    When ``POST``\ ing to your webhook server, Daily will provide two headers:
    ``X-Webhook-Signature`` and ``X-Webhook-Timestamp``."

    .. code-block:: js

        let signature = headers['X-Webhook-Timestamp'] + '.' + JSON.stringify(event);
        const hmac = crypto.createHmac('sha256', Buffer.from(hmacSecret, 'base64'));
        let computed_signature = hmac.update(signature).digest('base64');

So, component by component:

* **key**: the webhook's ``hmac`` secret, *base64-decoded*; the decoded bytes are the key;
* **message**: the ``X-Webhook-Timestamp`` header exactly as received, then ``.``, then the
  body.  The body signed here is the *raw request body*: Daily's sender builds it with
  ``JSON.stringify``, so the raw bytes are what ``JSON.stringify(event)`` gives back for
  it (research §1.4: both camps of public receivers verify successfully in production);
* **signature**: standard base64 (44 characters, with ``=``) of the 32-byte HMAC-SHA256,
  no prefix, in ``X-Webhook-Signature``.

Checking (:func:`check_signature`) compares in constant time (:func:`hmac.compare_digest`)
against every configured secret, so two secrets can be accepted while one rotates.

Daily does not document the timestamp's unit; public receivers see milliseconds (13
digits, research §1.5).  A value above ``1e11`` is taken as milliseconds, anything else
as seconds, and a delivery more than :data:`TOLERANCE` seconds (5 minutes) from the
server's clock is refused as stale: a captured delivery cannot be replayed later.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import math
from collections.abc import Sequence
from typing import Final

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "TOLERANCE",
    "Verdict",
    "check_signature",
    "decode_secret",
    "sign",
]

#: The header carrying the base64 HMAC-SHA256 signature.
SIGNATURE_HEADER: Final = "X-Webhook-Signature"
#: The header carrying the timestamp that is signed with the body.
TIMESTAMP_HEADER: Final = "X-Webhook-Timestamp"
#: How far (seconds) a delivery's timestamp may be from the server's clock.
TOLERANCE: Final = 300.0
#: Timestamps above this are milliseconds (1e11 seconds is the year 5138).
_MILLISECONDS_ABOVE: Final = 1e11


class Verdict(enum.Enum):
    """What checking one delivery's signature found."""

    #: Signed with one of the secrets, within the time window.
    VALID = "valid"
    #: No signature or no timestamp header.
    UNSIGNED = "unsigned"
    #: A signature that no secret produces for this timestamp and body.
    BAD_SIGNATURE = "bad_signature"
    #: A valid-looking delivery whose timestamp is outside the window (or not a number).
    STALE = "stale"


def decode_secret(secret: str) -> bytes:
    """The HMAC key of a base64 webhook secret (Daily's ``hmac``).

    Raises:
        ValueError: ``secret`` is not base64, or decodes to nothing.

    """
    try:
        key = base64.b64decode(secret.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret must be base64, as Daily's 'hmac' is") from None
    if not key:
        raise ValueError("a webhook secret must not be empty")
    return key


def sign(key: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Webhook-Signature`` Daily sends for ``body`` at ``timestamp``, under ``key``.

    ``key`` is the decoded secret (:func:`decode_secret`).
    """
    mac = hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256).digest()
    return base64.b64encode(mac).decode("ascii")


def _seconds(timestamp: str) -> float | None:
    try:
        value = float(timestamp)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    return value / 1000.0 if value > _MILLISECONDS_ABOVE else value


def check_signature(
    keys: Sequence[bytes],
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    now: float,
    tolerance: float = TOLERANCE,
) -> Verdict:
    """Check one delivery's headers against every key; never raises.

    Args:
        keys: The decoded secrets (one, or two while rotating).
        timestamp: The ``X-Webhook-Timestamp`` header, as received.
        signature: The ``X-Webhook-Signature`` header, as received.
        body: The raw request body.
        now: The server's clock (seconds since the epoch).
        tolerance: The largest distance (seconds) between ``timestamp`` and ``now``.

    """
    if not timestamp or not signature or len(timestamp) > 32 or len(signature) > 128:
        return Verdict.UNSIGNED
    try:
        stamp = timestamp.encode("ascii")
        given = signature.strip().encode("ascii")
    except UnicodeEncodeError:
        return Verdict.BAD_SIGNATURE
    matched = False
    for key in keys:  # every key is tried: the time taken does not tell which one matched
        mac = hmac.new(key, stamp + b"." + body, hashlib.sha256).digest()
        matched |= hmac.compare_digest(base64.b64encode(mac), given)
    if not matched:
        return Verdict.BAD_SIGNATURE
    seconds = _seconds(timestamp)
    if seconds is None or abs(now - seconds) > tolerance:
        return Verdict.STALE
    return Verdict.VALID
