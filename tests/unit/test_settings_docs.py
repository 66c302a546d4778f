"""One text per setting: the description the settings screen and ``h2otui config show``
give (the pydantic field's ``description``) is the comment ``config.toml`` documents the
key with, word for word, so the two cannot drift apart.

A comment block may start with an introduction shared by several keys (a section's
purpose, the QA prompt layout); the key's own text is the block's end."""

from __future__ import annotations

import re
from pathlib import Path

from h2otui.config import Settings
from h2otui.user_config import field_info

REPO = Path(__file__).resolve().parents[2]


def _norm(text: str) -> str:
    return " ".join(text.split())


def comment_blocks(text: str, leaf_keys: tuple[str, ...]) -> dict[str, str]:
    """Dotted key -> the comment lines right above it in ``text`` (set or commented out)."""
    lines = text.splitlines()
    known = set(leaf_keys)
    section = ""
    blocks: dict[str, str] = {}

    def dotted(name: str) -> str:
        key = f"{section}.{name}" if section else name
        # a commented-out top-level key may follow the sections (model_lock)
        return key if key in known or name not in known else name

    for i, line in enumerate(lines):
        header = re.match(r"^\[\[?([a-z_]+)\]\]?\s*$", line)
        if header:
            section = header.group(1)
            continue
        # a key, or a commented-out key with a value (not prose such as "# true = sample")
        m = re.match(r"^([a-z_]+) = ", line) or re.match(r"^# ([a-z_]+) = [\"'\[\d{tf-]", line)
        if not m or dotted(m.group(1)) not in known or dotted(m.group(1)) in blocks:
            continue
        above: list[str] = []
        j = i - 1
        while j >= 0 and lines[j].startswith("#"):
            other = re.match(r"^# ([a-z_]+) = ", lines[j])
            if other and dotted(other.group(1)) in known:
                break  # the commented-out key above owns the lines above it
            above.insert(0, lines[j][1:].strip())
            j -= 1
        blocks[dotted(m.group(1))] = _norm(" ".join(above))
    return blocks


def test_every_setting_is_described_in_config_toml_with_its_field_description() -> None:
    keys = Settings.leaf_keys()
    blocks = comment_blocks((REPO / "config.toml").read_text(), keys)
    problems = []
    for key in keys:
        description = _norm(field_info(key).description or "")
        block = blocks.get(key)
        if not description:
            problems.append(f"{key}: the field in h2otui/config.py has no description")
        elif block is None:
            problems.append(f"{key}: config.toml has no comment right above it")
        elif not block.endswith(description):
            problems.append(
                f"{key}: config.toml says {block!r}\n    but the field's description is "
                f"{description!r}\n    (make the comment's own text and the description equal)"
            )
    assert not problems, "\n  ".join(["descriptions drifted:", *problems])


def test_the_check_catches_a_drifted_comment() -> None:
    text = (REPO / "config.toml").read_text()
    drifted = text.replace("# Most tokens to generate per answer.", "# Tokens per answer.")
    blocks = comment_blocks(drifted, Settings.leaf_keys())
    description = field_info("generation.max_new_tokens").description
    assert blocks["generation.max_new_tokens"] == "Tokens per answer."
    assert not blocks["generation.max_new_tokens"].endswith(description or "?")
