"""Classifying Daily's error texts: every real text found, with its source and the code it must get.

Sources (see dialfsm/_errors.py for each row's):

* **probe**: daily-python 0.36.0's real, offline ``CallClient`` (never joined), each call's completion text;
* **binary**: the Rust ``Debug`` rendering of daily-python 0.36.0's error enums, read from its
  ``daily.abi3.so`` (variant names verbatim; constructed by the reply handlers named there);
* **#2418**: https://github.com/pipecat-ai/pipecat/issues/2418 (a room with ``enable_dialout`` false);
* **pdocs**: pipecat-ai/docs ``pipecat-cloud/guides/telephony/daily-dial-out.mdx`` lines 108-111;
* **pipecat**: pipecat-ai 1.14 ``transports/daily/transport.py`` (its own texts);
* **daily-js**: daily-js 0.92.2 ``dist/daily-esm.js``;
* **RFC 3261**: SIP status codes (no source shows Daily passing them; matched if it does).
"""

from __future__ import annotations

import pytest

from dialfsm import CallTracker, DialoutState, ErrorCode, Input, RetryPolicy
from dialfsm._errors import ERROR_PATTERNS, TRANSIENT_CODES, classify_error, debug_path, sip_status
from tests.helpers import PHONE, dialout_in

C = ErrorCode
SERVER_TEXT = "dial-out not enabled for room. add enable_dialout property to room"

#: (text, the call it completed or None for an event, code, source)
REAL_TEXTS: list[tuple[str, str | None, ErrorCode, str]] = [
    ("Dialout(CallState(NotInACall))", "start_dialout", C.NOT_IN_CALL, "probe: start_dialout before join"),
    ("Dialout(CallState(NotInACall))", "stop_dialout", C.NOT_IN_CALL, "probe: stop_dialout(<uuid>) before join"),
    ("Dialout(CallState(NotInACall))", "send_dtmf", C.NOT_IN_CALL, "probe: send_dtmf before join"),
    ("Sip(CallState(NotInACall))", "sip_call_transfer", C.NOT_IN_CALL, "probe: sip_call_transfer before join"),
    ("Sip(CallState(NotInACall))", "sip_refer", C.NOT_IN_CALL, "probe: sip_refer before join"),
    ("Dialout(Properties(UnknownCallClientError))", "start_dialout", C.NOT_ALLOWED, "#2418"),
    ("Dialout(Properties(UnknownCallClientError))", "send_dtmf", C.UNKNOWN, "binary: a DTMF reply !ok"),
    ("Sip(Properties(UnknownCallClientError))", "sip_call_transfer", C.UNKNOWN, "binary: a transfer reply !ok"),
    ("Dialout(Properties(DialoutAlreadyExists))", "start_dialout", C.DIALOUT_IN_PROGRESS, "binary: isConflict"),
    ("Dialout(Properties(UserMustBeAdmin))", "start_dialout", C.NOT_ALLOWED, "binary: variant name"),
    ("Sip(Properties(UserMustBeAdmin))", "sip_refer", C.NOT_ALLOWED, "binary: variant name"),
    ("Dialout(Properties(SessionIdNotReturned))", "start_dialout", C.UNKNOWN, "binary: ok without a sessionId"),
    ("Dialout(State(NoDialoutInProgress))", "stop_dialout", C.NOT_IN_CALL, "binary: DialoutStateError"),
    ("Sip(State(NoSipCallInProgress))", "sip_call_transfer", C.NOT_IN_CALL, "binary: SipStateError"),
    ("Dialout(Signalling(NoWorkerForRoom))", "start_dialout", C.TEMPORARILY_NOT_AVAILABLE, "binary: signalling"),
    ("Dialout(Signalling(ResponseReceiveTimeout(Timeout)))", "start_dialout", C.TEMPORARILY_NOT_AVAILABLE,
     "binary: signalling (inferred from the Debug impls)"),
    ("Dialout(Signalling(ChannelNotOpen))", "start_dialout", C.UNKNOWN, "binary: another signalling failure"),
    ("Dialout(OperationInterrupted)", "start_dialout", C.UNKNOWN, "binary: a request cut off"),
    (f'Dialout(Properties(CallClientError("{SERVER_TEXT}")))', "start_dialout", C.NOT_ALLOWED,
     "binary (the wrapping) + pdocs:108 (the server text)"),
    ('Dialout(Properties(CallClientError("dial-out to PhoneNumber is not enabled for domain. Contact support to '
     'enable it for your domain")))', "start_dialout", C.NOT_ALLOWED, "pdocs:109"),
    ('Dialout(Properties(CallClientError("International dialout not supported. Contact sales to enable it for '
     'your domain")))', "start_dialout", C.NOT_ALLOWED, "pdocs:111"),
    ('Sip(Properties(CallClientError("a \\"quoted\\" text, caf\\u{e9}")))', "sip_refer", C.UNKNOWN,
     "binary: Rust Debug escapes in a server text"),
    (SERVER_TEXT, None, C.NOT_ALLOWED, "pdocs:108 (as daily-js and webhooks give it)"),
    ("property 'enable_dialout' cannot be set to that value with your current plan", None, C.NOT_ALLOWED,
     "pdocs:110"),
    ('Dialout settings are not valid: JsonApiError { message: "data did not match any variant of untagged enum '
     'DailyStartDialoutProperties" }', "start_dialout", C.INVALID_SETTINGS, "probe: {} or a bad provider"),
    ('Dialout settings are not valid: JsonApiError { message: "Dialout settings is not an object" }',
     "start_dialout", C.INVALID_SETTINGS, "probe: start_dialout('abc')"),
    ('Send DTMF settings are not valid: JsonApiError { message: "missing field `sessionId`" }', "send_dtmf",
     C.INVALID_SETTINGS, "probe"),
    ('SIP call transfer settings are not valid: JsonApiError { message: "missing field `sessionId`" }',
     "sip_call_transfer", C.INVALID_SETTINGS, "probe"),
    ('SIP refer settings are not valid: JsonApiError { message: "missing field `toEndPoint`" }', "sip_refer",
     C.INVALID_SETTINGS, "probe"),
    ("Failed to parse participant ID: Error(ParseChar { character: 'x', index: 0 })", "stop_dialout",
     C.INVALID_SETTINGS, "probe: stop_dialout('x')"),
    ("Failed to parse participant ID: Error(ParseLength { len: 0 })", "stop_dialout", C.INVALID_SETTINGS,
     "probe: stop_dialout('')"),
    ("Can't send DTMF if 'sessionId' is not set", "send_dtmf", C.NOT_IN_CALL, "pipecat transport.py:1089"),
    ("Can't transfer SIP call if 'sessionId' is not set", "sip_call_transfer", C.NOT_IN_CALL, "pipecat :1111"),
    ("Can't perform SIP REFER if 'sessionId' is not set", "sip_refer", C.NOT_IN_CALL, "pipecat :1133"),
    ("startDialOut() only supported after join.", "start_dialout", C.NOT_IN_CALL, "daily-js dist/daily-esm.js"),
    ("Dialin codec did not match, using fallback.", None, C.UNKNOWN, "dialin.warning webhook docs example"),
    ("486 Busy Here", None, C.BUSY, "RFC 3261 (unsourced for Daily)"),
    ("480 Temporarily Unavailable", None, C.TEMPORARILY_NOT_AVAILABLE, "RFC 3261 (unsourced for Daily)"),
    ("603 Decline", None, C.DECLINED, "RFC 3261 (unsourced for Daily)"),
    ("404 Not Found", None, C.INVALID_SETTINGS, "RFC 3261 (unsourced for Daily)"),
    ("SIP/2.0 486 Busy Here", None, C.BUSY, "RFC 3261 status line"),
    ('SIP;cause=603;text="Decline"', None, C.DECLINED, "RFC 3326 Reason header"),
    ("start_dialout timed out: no completion and no event within 20 s", None, C.TEMPORARILY_NOT_AVAILABLE,
     "dialfsm's own start watchdog"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "call", "code", "source"), REAL_TEXTS, ids=[r[3] for r in REAL_TEXTS])
def test_every_real_text_gets_its_code(text: str, call: str | None, code: ErrorCode, source: str) -> None:
    assert classify_error(text, call=call) is code


def test_a_uuid_holding_404_is_no_sip_status() -> None:
    assert sip_status("dialout-error for ff1e7130-7752-4404-9cf4-08d2583a41dc") is None
    assert classify_error("session ff1e7130-7752-4404-9cf4-08d2583a41dc ended", call=None) is C.UNKNOWN


def test_debug_paths_are_parsed_by_structure_not_by_substring() -> None:
    assert debug_path('Dialout(Properties(CallClientError("x (y)")))') == (
        ("Dialout", "Properties", "CallClientError"),
        "x (y)",
    )
    assert debug_path("Timeout") is None  # a bare word is no path
    assert debug_path("Dialout(Properties(DialoutAlreadyExists)") is None  # unbalanced
    assert debug_path("not an enum (really)") is None
    # The phrase "not enabled" inside an unrelated path segment does not make it NOT_ALLOWED:
    assert classify_error("Dialout(Signalling(ChannelNotOpen))", call="start_dialout") is C.UNKNOWN


def test_every_row_names_a_source_and_a_known_kind() -> None:
    for row in ERROR_PATTERNS:
        assert row.kind in ("path", "sip", "text")
        assert row.source.strip()
        if row.kind == "text":
            assert row.pattern == row.pattern.lower()


def test_only_transient_codes_are_retried_by_default() -> None:
    assert RetryPolicy().retry_on == TRANSIENT_CODES == {C.TEMPORARILY_NOT_AVAILABLE, C.UNKNOWN}


@pytest.mark.parametrize(
    "text",
    [
        "Dialout(Properties(UnknownCallClientError))",
        "Dialout(CallState(NotInACall))",
        "Dialout(Properties(DialoutAlreadyExists))",
        "Dialout(Properties(UserMustBeAdmin))",
        'Dialout settings are not valid: JsonApiError { message: "x" }',
        f'Dialout(Properties(CallClientError("{SERVER_TEXT}")))',
        "486 Busy Here",
        "603 Decline",
    ],
)
def test_a_start_that_can_never_succeed_is_never_retried(text: str) -> None:
    """The default policy does not redial a room without dial-out, a bot not in the call, a conflict..."""
    tracker = CallTracker(retry=RetryPolicy(seed=1))
    session = tracker.start_dialout(PHONE, t=0.0)
    tracker.start_completed(session, error=text, t=1.0)
    assert session.state is DialoutState.ERROR
    assert tracker.take_effects() == []


def test_a_transient_start_failure_is_retried() -> None:
    tracker = CallTracker(retry=RetryPolicy(seed=1))
    session = tracker.start_dialout(PHONE, t=0.0)
    tracker.start_completed(session, error="Dialout(Signalling(NoWorkerForRoom))", t=1.0)
    (retry,) = tracker.take_effects()
    assert retry.previous is session  # type: ignore[union-attr]


def test_the_call_a_completion_answers_is_part_of_its_classification() -> None:
    _, dtmf_session = dialout_in(DialoutState.ANSWERED)
    tracker = dtmf_session._owner
    assert isinstance(tracker, CallTracker)
    tracker.send_dtmf({"sessionId": dtmf_session.session_id, "tones": "1"}, ref="d")
    tracker.dtmf_completed(error="Dialout(Properties(UnknownCallClientError))", ref="d")
    assert dtmf_session.error_code is C.UNKNOWN  # a failed DTMF reply is not "dial-out not allowed"
    assert Input.SEND_DTMF.value == "send_dtmf"
