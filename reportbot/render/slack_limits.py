"""Slack's message limits and a check for them: pure, no slack-sdk import.

The renderer packs messages under these limits and the Slack destination refuses to post
a message that breaks them, so both read one source of truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3_000
MAX_HEADER_CHARS = 150
MAX_FIELDS = 10
MAX_FIELD_CHARS = 2_000
MAX_CONTEXT_ELEMENTS = 10
MAX_BLOCK_ID_CHARS = 255
MAX_TEXT_CHARS = 40_000
# Undocumented: chat.postMessage answers msg_blocks_too_long from about 12,000 characters of
# text summed over all blocks (seen failing at 11,341), so we keep a margin.
MAX_BLOCKS_TEXT_CHARS = 10_000


def validate_message(msg: dict[str, Any]) -> None:
    """Raise ValueError naming the first of Slack's limits that ``msg`` breaks."""
    text, blocks = msg.get("text"), msg.get("blocks") or []
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a message needs a text fallback")
    total = sum(len(s) for s in _texts(blocks))
    _check(len(text) <= MAX_TEXT_CHARS, f"text is over {MAX_TEXT_CHARS} characters")
    _check(len(blocks) <= MAX_BLOCKS, f"{len(blocks)} blocks, over {MAX_BLOCKS}")
    _check(total <= MAX_BLOCKS_TEXT_CHARS, f"blocks hold {total} characters of text")
    for i, block in enumerate(blocks):
        _validate_block(f"block {i} ({block.get('type')})", block)


def _validate_block(where: str, block: dict[str, Any]) -> None:
    kind, fields = block.get("type"), block.get("fields") or []
    text = (block.get("text") or {}).get("text", "")
    limit = {"header": MAX_HEADER_CHARS, "section": MAX_SECTION_CHARS}.get(str(kind), len(text))
    longest = max((len(f.get("text", "")) for f in fields), default=0)
    elements = len(block.get("elements") or []) if kind == "context" else 0
    _check(len(block.get("block_id", "")) <= MAX_BLOCK_ID_CHARS, f"{where}: block_id too long")
    _check(len(text) <= limit, f"{where}: over {limit} characters")
    _check(kind != "section" or bool(text or fields), f"{where}: needs text or fields")
    _check(len(fields) <= MAX_FIELDS, f"{where}: over {MAX_FIELDS} fields")
    _check(longest <= MAX_FIELD_CHARS, f"{where}: a field over {MAX_FIELD_CHARS} characters")
    _check(elements <= MAX_CONTEXT_ELEMENTS, f"{where}: over {MAX_CONTEXT_ELEMENTS} elements")


def _check(ok: bool, problem: str) -> None:
    if not ok:
        raise ValueError(problem)


def _texts(node: Any) -> Iterator[str]:
    """Every ``text`` string in a block tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from [value] if key == "text" and isinstance(value, str) else _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)
