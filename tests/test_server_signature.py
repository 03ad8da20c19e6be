"""Daily's webhook signature, checked against an example built the way Daily's docs describe."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from dialfsm.server._config import ConfigError, read_secrets
from dialfsm.server._signature import Verdict, check_signature, decode_secret, sign
from tests.server_support import KEY, SECRET

# The research notes' vector (issue15-research.md §1.6): computed with node from Daily's snippet
# (createHmac('sha256', Buffer.from(secret, 'base64')).update(ts + '.' + body).digest('base64')).
STAMP = "1728023426552"
BODY = (
    b'{"version":"1.0.0","type":"dialout.answered","id":"2868-dial-out-ans-7d208e2a","payload":{"domain_id":'
    b'"04b89420","room":"my-dialout-room","timestamp":"1728023426","session_id":"7d208e2a-520b-4a8d-a2c9-'
    b'3a36dfa0d342","destination":"+12098888888"},"event_ts":1728023426.552}'
)
SIGNATURE = "dINNkwIn9NMt6306kWBp8ovdCEGhzoofeXdG9u4hHyg="
NOW = 1728023426.552
OTHER = base64.b64encode(b"another secret, the one before rotation").decode()


def test_the_documented_construction_gives_the_vector() -> None:
    """Key = base64-decoded secret; message = timestamp + '.' + raw body; output = base64 digest."""
    by_hand = base64.b64encode(
        hmac.new(base64.b64decode(SECRET), STAMP.encode() + b"." + BODY, hashlib.sha256).digest()
    ).decode()
    assert by_hand == SIGNATURE
    assert sign(decode_secret(SECRET), STAMP, BODY) == SIGNATURE


def test_a_delivery_signed_as_daily_does_is_valid() -> None:
    assert check_signature([KEY], STAMP, SIGNATURE, BODY, now=NOW) is Verdict.VALID


@pytest.mark.parametrize(
    ("stamp", "signature", "body", "verdict"),
    [
        (None, SIGNATURE, BODY, Verdict.UNSIGNED),
        (STAMP, None, BODY, Verdict.UNSIGNED),
        ("", "", BODY, Verdict.UNSIGNED),
        (STAMP, SIGNATURE, BODY.replace(b"+12098888888", b"+12098888889"), Verdict.BAD_SIGNATURE),
        ("1728023426553", SIGNATURE, BODY, Verdict.BAD_SIGNATURE),  # the timestamp is signed too
        (STAMP, SIGNATURE[:-2] + "A=", BODY, Verdict.BAD_SIGNATURE),
        (STAMP, "sha256=" + SIGNATURE, BODY, Verdict.BAD_SIGNATURE),
        (STAMP, "é" * 10, BODY, Verdict.BAD_SIGNATURE),
        (STAMP, SIGNATURE, BODY + b" ", Verdict.BAD_SIGNATURE),  # the raw body is what is signed
    ],
)
def test_what_is_not_signed_right_is_refused(
    stamp: str | None, signature: str | None, body: bytes, verdict: Verdict
) -> None:
    assert check_signature([KEY], stamp, signature, body, now=NOW) is verdict


def test_the_wrong_secret_is_refused_and_two_secrets_are_accepted_while_one_rotates() -> None:
    other = decode_secret(OTHER)
    assert check_signature([other], STAMP, SIGNATURE, BODY, now=NOW) is Verdict.BAD_SIGNATURE
    assert check_signature([other, KEY], STAMP, SIGNATURE, BODY, now=NOW) is Verdict.VALID
    assert check_signature([KEY, other], STAMP, SIGNATURE, BODY, now=NOW) is Verdict.VALID


@pytest.mark.parametrize(
    ("offset", "verdict"), [(-299.0, Verdict.VALID), (299.0, Verdict.VALID), (301.0, Verdict.STALE)]
)
def test_timestamps_more_than_five_minutes_away_are_stale(offset: float, verdict: Verdict) -> None:
    assert check_signature([KEY], STAMP, SIGNATURE, BODY, now=NOW + offset) is verdict
    assert check_signature([KEY], STAMP, SIGNATURE, BODY, now=NOW - offset) is verdict


def test_a_timestamp_in_seconds_is_read_as_seconds_and_nonsense_is_stale() -> None:
    in_seconds = "1728023426"
    assert check_signature([KEY], in_seconds, sign(KEY, in_seconds, BODY), BODY, now=NOW) is Verdict.VALID
    assert check_signature([KEY], "yesterday", sign(KEY, "yesterday", BODY), BODY, now=NOW) is Verdict.STALE
    assert check_signature([KEY], "nan", sign(KEY, "nan", BODY), BODY, now=NOW) is Verdict.STALE


def test_secrets_are_base64_and_at_most_two() -> None:
    assert read_secrets(f"{SECRET},{OTHER}") == (KEY, decode_secret(OTHER))
    assert read_secrets(f" {SECRET}\n{OTHER} ") == (KEY, decode_secret(OTHER))
    assert read_secrets("") == ()
    with pytest.raises(ConfigError, match="at most two"):
        read_secrets(f"{SECRET},{OTHER},{SECRET}")
    with pytest.raises(ConfigError, match="base64"):
        read_secrets("not base64!")
    with pytest.raises(ValueError, match="base64"):
        decode_secret("abc")
