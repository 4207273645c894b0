"""One report, rendered once: every output built lazily, at most once, shared by all users.

Sending, ``--dry-run``, ``--out`` and ``check`` all read a ``RenderedReport``; nothing else
renders. A report going to Slack and email draws its chart once.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reportbot.core.report import Report

if TYPE_CHECKING:
    from reportbot.render.email import RenderedEmail


class RenderedReport:
    """The outputs of one ``Report``; each property renders on first use and is kept.

    One report is delivered by one thread at a time, so no lock is needed.
    """

    def __init__(
        self,
        report: Report,
        templates: Path | None = None,
        *,
        attach: tuple[str, ...] = ("csv",),
        test: bool = False,
    ) -> None:
        self.report = report
        self.templates = templates
        self.attach = attach
        self.test = test  # a test send (--to): labelled so in Slack and in the subject

    @cached_property
    def stem(self) -> str:
        """The file name stem of this report's outputs: ``weekly-digest-2024-W33``."""
        return f"{self.report.name}-{self.report.period.key.replace('..', '_')}"

    @cached_property
    def text(self) -> str:
        from reportbot.render.templates import render_text

        return render_text(self.report, self.templates)

    @cached_property
    def slack_messages(self) -> list[dict[str, Any]]:
        from reportbot.render.slack import slack_messages

        messages = slack_messages(self.report, self.templates)
        return [_labelled(m) for m in messages] if self.test else messages

    @cached_property
    def chart(self) -> bytes:
        from reportbot.render.chart import daily_chart

        return daily_chart(self.report)

    @cached_property
    def email(self) -> RenderedEmail:
        from reportbot.render.email import render_email

        mail = render_email(self.report, self.templates, png=self.chart, attach=self.attach)
        return replace(mail, subject=f"{TEST_LABEL} {mail.subject}") if self.test else mail

    def files(self) -> dict[str, str | bytes]:
        """Every output as a file a person can open, by file name."""
        mail = self.email
        files: dict[str, str | bytes] = {
            f"{self.stem}.txt": self.text,
            f"{self.stem}.slack.json": json.dumps(
                self.slack_messages, indent=2, ensure_ascii=False
            ),
            f"{self.stem}.email.txt": f"Subject: {mail.subject}\n\n{mail.text}",
            f"{self.stem}.email.html": viewable_html(mail),
            mail.csv_filename: mail.csv_bytes,
            **{a.filename: a.data for a in mail.attachments},
        }
        if mail.png is not None:
            files[f"{self.stem}.png"] = mail.png
        return files


TEST_LABEL = "[test send]"


def _labelled(message: dict[str, Any]) -> dict[str, Any]:
    """A Slack message marked as a test, in its fallback text and its header."""
    blocks = [
        {**b, "text": {**b["text"], "text": f"{TEST_LABEL} {b['text']['text']}"[:150]}}
        if b.get("type") == "header"
        else b
        for b in message.get("blocks") or []
    ]
    return {**message, "text": f"{TEST_LABEL} {message['text']}", "blocks": blocks}


def viewable_html(mail: RenderedEmail) -> str:
    """The HTML with the chart embedded, so a browser shows what a mail client would."""
    if mail.png is None:
        return mail.html
    data = base64.b64encode(mail.png).decode("ascii")
    return mail.html.replace('"cid:chart"', f'"data:image/png;base64,{data}"')
