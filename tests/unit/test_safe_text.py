"""safe_text: the one sanitiser for untrusted text shown on a terminal."""

from __future__ import annotations

import json

import pytest

from h2otui.safe_text import is_visible, json_dumps, visible
from h2otui.servers import ServerSpec, scrub, scrub_credentials
from tests.hostile import ATTACKS, HOSTILE_NAMES, HOSTILE_TEXT, assert_terminal_safe, forbidden


def test_every_attack_is_made_visible_and_words_survive() -> None:
    for attack in (*ATTACKS, *HOSTILE_NAMES, HOSTILE_TEXT):
        assert forbidden(attack) or attack in HOSTILE_NAMES
        shown = visible(attack)
        assert_terminal_safe(shown, repr(attack))
    assert visible("\x1b]52;c;ZWNo\x07") == "␛]52;c;ZWNo␇"
    assert visible("\x9b31m") == "␛[31m"  # C1 shown as ESC + its 7-bit form
    assert visible("a\x7fb\x00") == "a␡b␀"
    assert visible("report\u202etxt.exe") == "report<U+202E>txt.exe"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("line one\nline two\ttab", "line one\nline two\ttab"),
        ("windows\r\nline", "windows\r\nline"),
        ("over\rwrite", "over␍write"),
        ("end\r", "end␍"),
        ("émoji 🙂 and 中文", "émoji 🙂 and 中文"),
        ("[bold red]x.txt", "[bold red]x.txt"),  # markup is not this function's job
        ("bad\udcffname", "bad\ufffdname"),  # a surrogateescape'd non-UTF-8 byte
    ],
)
def test_visible_keeps_ordinary_text(text: str, shown: str) -> None:
    assert visible(text) == shown
    assert is_visible(shown)


def test_json_dumps_is_exact_and_terminal_safe() -> None:
    value = {"answer": HOSTILE_TEXT, "name": "über\x85\u2066x", "odd": "a\udcffb"}
    text = json_dumps(value, indent=2)
    assert_terminal_safe(text, "json")
    assert json.loads(text) == value
    assert "über" in text  # still readable UTF-8, not \\u-escaped everywhere


BASIC = "Ym9iOnMzY3JldC1wYXNz"  # base64("bob:s3cret-pass")


@pytest.mark.parametrize(
    "body",
    [
        f"Unauthorized: Authorization: Basic {BASIC}",
        f'{{"error": "denied", "headers": {{"authorization": "Basic {BASIC}"}}}}',
        "rejected header Authorization: Bearer sk-live-0123456789abcdef",
        "x-api-key: sk-12345678 was revoked",
        "bad request ?api_key=sk-12345678&x=1",
        "proxy: http://bob:s3cret-pass@10.0.0.1/v1 refused",
    ],
)
def test_echoed_credentials_are_scrubbed(body: str) -> None:
    cleaned = scrub_credentials(body)
    for secret in (BASIC, "sk-live-0123456789abcdef", "sk-12345678", "s3cret-pass"):
        assert secret not in cleaned
    assert "***" in cleaned


@pytest.mark.parametrize(
    "prose",
    ["Basic auth failed", "Bearer token is invalid", "Token limit exceeded: 4096 tokens"],
)
def test_prose_about_credentials_is_kept(prose: str) -> None:
    assert scrub_credentials(prose) == prose


def test_a_specs_secrets_include_its_basic_token() -> None:
    spec = ServerSpec("tgi", "http://h:1", username="bob", password="s3cret-pass")
    assert BASIC in spec.secrets
    # a server that echoes the token without a scheme in front of it
    assert BASIC not in scrub(f"echo: {BASIC}", spec.secrets)
