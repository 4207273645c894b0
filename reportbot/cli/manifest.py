"""``reportbot slack-manifest``: a Slack app manifest with exactly the scopes the reports need.

    chat:write                        a report posts to a channel (``#name`` or an id)
    files:write                       ... and has ``chart = true`` (files_upload_v2)
    channels:read, groups:read        ... and names a channel by ``#name`` (resolved to its id)
    channels:history, groups:history  ... the idempotency read-back before a post (DESIGN §5)
    incoming-webhook                  a report posts to ``webhook``: Slack then offers to
                                      create the webhook when the app is installed

A webhook-only configuration needs no bot scope at all. Paste the output at
https://api.slack.com/apps?new_app=1 ("From a manifest"); Slack takes JSON or YAML.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from reportbot.config import ReportConfig

DESCRIPTION = "API-usage cost reports for AceData Cloud"
_YAML_WORDS = ("true", "false", "yes", "no", "on", "off", "y", "n", "null", "~")  # YAML 1.1 too
_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9 ._/:-]*$")


def needed_scopes(reports: Iterable[ReportConfig]) -> list[str]:
    """The bot scopes, sorted, that posting ``reports`` needs."""
    scopes: set[str] = set()
    for report in reports:
        channels = [c for c in report.slack if c != "webhook"]
        if "webhook" in report.slack:
            scopes.add("incoming-webhook")
        if not channels:
            continue
        scopes |= {"chat:write", "channels:history", "groups:history"}
        if report.chart:
            scopes.add("files:write")
        if any(c.startswith("#") for c in channels):
            scopes |= {"channels:read", "groups:read"}
    return sorted(scopes)


def slack_manifest(reports: Iterable[ReportConfig], *, name: str = "reportbot") -> dict[str, Any]:
    """The manifest as a dict (``json.dumps`` it, or ``as_yaml``)."""
    scopes = needed_scopes(reports)
    bot = [s for s in scopes if s != "incoming-webhook"]
    manifest: dict[str, Any] = {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {"name": name, "description": DESCRIPTION},
    }
    if bot:
        manifest["features"] = {"bot_user": {"display_name": name, "always_online": False}}
    manifest["oauth_config"] = {"scopes": {"bot": scopes}}
    manifest["settings"] = {
        "org_deploy_enabled": False,
        "socket_mode_enabled": False,
        "token_rotation_enabled": False,
    }
    return manifest


def as_json(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2) + "\n"


def as_yaml(manifest: dict[str, Any]) -> str:
    """Block-style YAML of a manifest (dicts, lists, strings, numbers, booleans): no library."""
    return "\n".join(_yaml_lines(manifest, 0)) + "\n"


def _yaml_lines(value: Any, indent: int) -> list[str]:
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{_scalar(key)}:")
                lines.extend(_yaml_lines(item, indent + 1))
            else:
                lines.append(f"{pad}{_scalar(key)}: {_scalar(item)}")
    else:
        for item in value:
            lines.append(f"{pad}- {_scalar(item)}")
    return lines


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | dict):
        return "[]" if isinstance(value, list) else "{}"
    text = str(value)
    plain = _PLAIN.match(text) and ": " not in text and text.lower() not in _YAML_WORDS
    return (
        text
        if plain and not text.replace(".", "").isdigit()
        else json.dumps(text, ensure_ascii=False)
    )
