"""A report as Slack Block Kit messages, split so that none breaks Slack's limits.

Every data string passes the mrkdwn escape (the Slack environment escapes each expression),
so an API name can neither ping ``<!channel>`` nor inject a link.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reportbot.core.report import ApiLine, Report
from reportbot.render.slack_limits import (
    MAX_BLOCKS,
    MAX_BLOCKS_TEXT_CHARS,
    MAX_HEADER_CHARS,
    MAX_SECTION_CHARS,
)
from reportbot.render.templates import render, truncate

# Below MAX_BLOCKS_TEXT_CHARS: the headers of continuation messages add to each page.
MESSAGE_CHAR_BUDGET = MAX_BLOCKS_TEXT_CHARS - 1_000
LINES_PER_SECTION = 10

Block = dict[str, Any]
Message = dict[str, Any]


def slack_messages(report: Report, override: Path | None = None) -> list[Message]:
    """The whole report: a first message with the summary, continuations as needed."""
    ctx = {"r": report}
    header = truncate(
        render("slack", "slack/header.txt.j2", override, **ctx).strip(), MAX_HEADER_CHARS
    )
    fallback = render("slack", "slack/fallback.md.j2", override, **ctx).strip()
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
        _section(render("slack", "slack/summary.md.j2", override, **ctx).strip()),
    ]
    if report.insights is not None:
        blocks.append(_section(render("slack", "slack/insights.md.j2", override, **ctx).strip()))
    lines = [
        _line(report, "slack/line.md.j2", line, rank, override) for rank, line in _ranked(report)
    ]
    blocks += _titled_sections("*Top APIs*", lines)
    movers = [_line(report, "slack/mover.md.j2", line, 0, override) for line in report.movers]
    blocks += _titled_sections("*Movers*", movers)
    blocks.append(_context(render("slack", "slack/context.md.j2", override, **ctx).strip()))
    return _split(blocks, header, fallback)


def _ranked(report: Report) -> Iterator[tuple[int, ApiLine]]:
    yield from enumerate(report.top, start=1)
    if report.other:
        yield 0, report.other


def _line(report: Report, template: str, line: ApiLine, rank: int, override: Path | None) -> str:
    text = render("slack", template, override, r=report, line=line, rank=rank).strip()
    return truncate(text, MAX_SECTION_CHARS)


def _section(text: str) -> Block:
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": truncate(text, MAX_SECTION_CHARS)},
    }


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, 2000)}]}


def _titled_sections(title: str, lines: list[str]) -> list[Block]:
    """Lines grouped into sections of at most LINES_PER_SECTION and MAX_SECTION_CHARS."""
    if not lines:
        return []
    blocks: list[Block] = [{"type": "divider"}]
    chunk: list[str] = [title]
    for line in lines:
        size = sum(len(c) + 1 for c in chunk) + len(line)
        if len(chunk) >= LINES_PER_SECTION or size > MAX_SECTION_CHARS:
            blocks.append(_section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    blocks.append(_section("\n".join(chunk)))
    return blocks


def _split(blocks: list[Block], header: str, fallback: str) -> list[Message]:
    """Pack blocks into messages under the block and size budgets, in order."""
    pages: list[list[Block]] = [[]]
    size = 0
    for block in blocks:
        cost = _chars(block)
        if pages[-1] and (len(pages[-1]) >= MAX_BLOCKS - 1 or size + cost > MESSAGE_CHAR_BUDGET):
            pages.append([])
            size = 0
        pages[-1].append(block)
        size += cost
    if len(pages) == 1:
        return [{"text": fallback, "blocks": pages[0]}]
    total = len(pages)
    messages = [{"text": fallback, "blocks": pages[0]}]
    for number, page in enumerate(pages[1:], start=2):
        title = truncate(f"{header} ({number}/{total})", MAX_HEADER_CHARS)
        heading = {"type": "header", "text": {"type": "plain_text", "text": title, "emoji": True}}
        messages.append({"text": f"{fallback} ({number}/{total})", "blocks": [heading, *page]})
    return messages


def _chars(block: Block) -> int:
    text = block.get("text")
    if isinstance(text, dict):
        return len(text.get("text", ""))
    return sum(len(e.get("text", "")) for e in block.get("elements", []))
