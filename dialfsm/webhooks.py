"""Daily's webhooks: track calls on a server from webhook deliveries, with the same tracker.

A Daily webhook is a JSON envelope::

    {"version": "1.0.0", "type": "dialout.answered", "id": "...",
     "payload": {"session_id": "...", "room": "...", ...}, "event_ts": 1708972279.96}

:func:`handle_webhook` parses one delivery (bytes, text or an already
decoded object) and feeds it to a :class:`~dialfsm.CallTracker`:

* ``dialout.*``, ``dialin.*``, ``dtmf.*`` and ``participant.joined`` /
  ``participant.left`` go to :meth:`CallTracker.handle <dialfsm.CallTracker.handle>`,
  which reads the snake_case payload (an unknown ``dialout.*`` type there is an
  ``UNKNOWN_EVENT`` anomaly: schema drift is worth seeing).
* A body that is not JSON, not an object, without a string ``type`` or
  without an object ``payload`` is a ``MALFORMED_INPUT`` anomaly in the journal.
* Every other type (``calltransfer.triggered``/``initiated``/``answered``/
  ``completed``, ``recording.*``, ``meeting.*``...) is journaled with
  :meth:`CallTracker.note <dialfsm.CallTracker.note>` (disposition
  ``JOURNALED``) and changes nothing: dialfsm's machines do not model them, so
  they are neither transitions nor anomalies.

The envelope's ``event_ts`` is when Daily *sent* the webhook, not when the
event happened, so it is not used as the input's time; pass ``t`` yourself.
Verifying Daily's HMAC signature header is the web framework's job, before this.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import attrs

from dialfsm._parse import ParseProblem, canonical_event_name
from dialfsm._session import JournalEntry
from dialfsm._table import AnomalyCode
from dialfsm._text import describe_error, finite_float, plain_str, short_repr
from dialfsm._tracker import CallTracker

__all__ = ["TRACKED_FAMILIES", "Webhook", "WebhookError", "WebhookResult", "handle_webhook", "parse_webhook"]

#: Webhook type families fed to the tracker (the part of ``type`` before the first dot).
TRACKED_FAMILIES: Final = frozenset({"dialout", "dialin", "dtmf", "participant"})
_MAX_BODY: Final = 1 << 20


class WebhookError(ValueError):
    """A webhook body that is not a Daily webhook envelope."""


@attrs.frozen(kw_only=True)
class Webhook:
    """One parsed webhook envelope."""

    #: The event type, ``"dialout.answered"``.
    type: str
    #: The event's payload (snake_case keys), as delivered.
    payload: Mapping[str, Any]
    #: The webhook's id, if given.
    id: str | None = None
    #: The envelope's version, if given.
    version: str | None = None
    #: When Daily sent the webhook (seconds), if given.
    event_ts: float | None = None

    @property
    def family(self) -> str:
        """The part of :attr:`type` before the first dot (``"dialout"``)."""
        return self.type.split(".", 1)[0]


@attrs.frozen(kw_only=True)
class WebhookResult:
    """What :func:`handle_webhook` did with one delivery."""

    #: The parsed envelope (``None`` when malformed).
    webhook: Webhook | None
    #: The tracker's journal entry (every delivery gets one).
    entry: JournalEntry

    @property
    def tracked(self) -> bool:
        """Whether the delivery was fed to the machines (as an event or an anomaly), not only journaled."""
        return self.webhook is None or _tracked(self.webhook.type)


def parse_webhook(body: bytes | str | Mapping[str, Any]) -> Webhook:
    """Parse one webhook delivery: the raw body (bytes or text) or the decoded JSON object.

    Raises:
        WebhookError: not JSON, not an object, no string ``type``, or no object ``payload``.

    """
    data: object = body
    if isinstance(body, (bytes, bytearray)):
        if len(body) > _MAX_BODY:
            raise WebhookError(f"webhook body is {len(body)} bytes (max {_MAX_BODY})")
        try:
            data = bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WebhookError(f"webhook body is not UTF-8: {exc.reason}") from None
    if isinstance(data, str):
        if len(data) > _MAX_BODY:
            raise WebhookError(f"webhook body is {len(data)} chars (max {_MAX_BODY})")
        try:
            data = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise WebhookError(f"webhook body is not JSON: {short_repr(str(exc), 80)}") from None
    if not isinstance(data, Mapping):
        raise WebhookError(f"webhook body must be a JSON object, got {short_repr(data)}")
    kind = data.get("type")
    if not isinstance(kind, str) or not plain_str(kind) or len(plain_str(kind)) > 64:
        raise WebhookError(f"webhook 'type' must be a short non-empty string, got {short_repr(kind)}")
    payload = data.get("payload")
    if not isinstance(payload, Mapping):
        raise WebhookError(f"webhook {kind!r}: 'payload' must be an object, got {short_repr(payload)}")
    webhook_id, version = data.get("id"), data.get("version")
    return Webhook(
        type=plain_str(kind),
        payload=payload,
        id=plain_str(webhook_id) if isinstance(webhook_id, str) else None,
        version=plain_str(version) if isinstance(version, str) else None,
        event_ts=finite_float(data.get("event_ts")),  # not a finite number: none
    )


def _tracked(kind: str) -> bool:
    try:
        canonical_event_name(kind)
    except ParseProblem:
        return kind.split(".", 1)[0] in TRACKED_FAMILIES
    return True


def handle_webhook(
    tracker: CallTracker, body: bytes | str | Mapping[str, Any], *, t: float | None = None
) -> WebhookResult:
    """Parse one webhook delivery and feed it to ``tracker``.  Never raises.

    Every delivery gets one journal entry: an event, a note, or a
    ``MALFORMED_INPUT`` anomaly (anything :func:`parse_webhook` refuses, and a
    body whose own methods raise).  ``t`` is checked like any input's time (a
    time that is no finite number is ignored).

    Args:
        tracker: The tracker of the room the webhook is about (one per room).
        body: The raw request body, or the decoded JSON object.
        t: When it happened, for the journal.

    Returns:
        The parsed webhook and its journal entry.

    """
    try:
        webhook = parse_webhook(body)
    except (Exception, RecursionError) as exc:  # noqa: BLE001  (WebhookError, or a hostile mapping's own errors)
        message = (
            str(exc) if isinstance(exc, WebhookError) else f"webhook body could not be read: {describe_error(exc)}"
        )
        entry = tracker.record_anomaly(
            AnomalyCode.MALFORMED_INPUT, message, name="webhook", source=short_repr(body, 200), t=t
        )
        return WebhookResult(webhook=None, entry=entry)
    if not _tracked(webhook.type):
        return WebhookResult(webhook=webhook, entry=tracker.note(webhook.type, webhook, t=t))
    try:
        payload = dict(webhook.payload)
    except (Exception, RecursionError) as exc:  # noqa: BLE001  (a mapping whose own methods raise)
        message = f"webhook {short_repr(webhook.type)}: payload could not be read: {describe_error(exc)}"
        entry = tracker.record_anomaly(AnomalyCode.MALFORMED_INPUT, message, name="webhook", t=t)
        return WebhookResult(webhook=webhook, entry=entry)
    return WebhookResult(webhook=webhook, entry=tracker.handle(webhook.type, payload, t=t))
