"""``reportbot slack-manifest``: exactly the scopes the configured reports need, JSON or YAML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reportbot.cli.commands import cli
from reportbot.cli.manifest import as_json, as_yaml, needed_scopes, slack_manifest
from reportbot.config import ReportConfig
from reportbot.errors import ConfigError

HISTORY = ["channels:history", "groups:history"]
READ = ["channels:read", "groups:read"]


def report(**fields: Any) -> ReportConfig:
    return ReportConfig.model_validate({"name": "r", **fields})


@pytest.mark.parametrize(
    ("reports", "scopes"),
    [
        ([{"slack": ["C0123456789"]}], ["chat:write", *HISTORY]),
        ([{"slack": ["C0123456789"], "chart": True}], ["chat:write", "files:write", *HISTORY]),
        ([{"slack": ["#api-usage"]}], ["chat:write", *READ, *HISTORY]),
        (
            [{"slack": ["#api-usage"], "chart": True}],
            ["chat:write", "files:write", *READ, *HISTORY],
        ),
        ([{"slack": ["webhook"]}], ["incoming-webhook"]),
        ([{"slack": ["webhook"], "chart": True}], ["incoming-webhook"]),  # webhooks post no files
        ([{"email": ["a@example.com"]}], []),
        ([{"email": ["a@example.com"], "chart": True}], []),
        (
            [{"slack": ["webhook"]}, {"slack": ["C0123456789"]}],
            ["chat:write", *HISTORY, "incoming-webhook"],
        ),
        (
            [{"slack": ["C0123456789"], "chart": True}, {"slack": ["#costs"]}],
            ["chat:write", "files:write", *READ, *HISTORY],
        ),
    ],
)
def test_the_manifest_asks_for_exactly_the_scopes_the_reports_need(
    reports: list[dict[str, Any]], scopes: list[str]
) -> None:
    assert needed_scopes(report(**fields) for fields in reports) == sorted(scopes)


def test_a_webhook_only_manifest_has_no_bot_user() -> None:
    manifest = slack_manifest([report(slack=["webhook"])])

    assert "features" not in manifest
    assert manifest["oauth_config"]["scopes"]["bot"] == ["incoming-webhook"]


def test_the_manifest_names_the_app_and_its_bot() -> None:
    manifest = slack_manifest([report(slack=["C0123456789"])], name="Costs bot")

    assert manifest["display_information"]["name"] == "Costs bot"
    assert manifest["features"]["bot_user"]["display_name"] == "Costs bot"
    assert json.loads(as_json(manifest)) == manifest


def test_the_yaml_form_says_the_same_as_the_json_form() -> None:
    manifest = slack_manifest([report(slack=["#api-usage"], chart=True)], name="true")

    assert as_yaml(manifest) == (
        "_metadata:\n"
        "  major_version: 1\n"
        "  minor_version: 1\n"
        "display_information:\n"
        '  name: "true"\n'
        "  description: API-usage cost reports for AceData Cloud\n"
        "features:\n"
        "  bot_user:\n"
        '    display_name: "true"\n'
        "    always_online: false\n"
        "oauth_config:\n"
        "  scopes:\n"
        "    bot:\n"
        "      - channels:history\n"
        "      - channels:read\n"
        "      - chat:write\n"
        "      - files:write\n"
        "      - groups:history\n"
        "      - groups:read\n"
        "settings:\n"
        "  org_deploy_enabled: false\n"
        "  socket_mode_enabled: false\n"
        "  token_rotation_enabled: false\n"
    )


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("reportbot", "reportbot"),
        ("Costs: weekly", '"Costs: weekly"'),
        ("#costs", '"#costs"'),
        ("yes", '"yes"'),
        ("Off", '"Off"'),
        ("123", '"123"'),
        ("- dash", '"- dash"'),
        ("Ünïcode", '"Ünïcode"'),
        ('say "hi"', '"say \\"hi\\""'),
    ],
)
def test_a_yaml_string_that_could_be_read_as_something_else_is_quoted(
    name: str, shown: str
) -> None:
    assert f"  name: {shown}\n" in as_yaml(slack_manifest([report(slack=["webhook"])], name=name))


def test_slack_manifest_prints_the_manifest_of_the_config(tmp_path: Path) -> None:
    config = tmp_path / "reportbot.toml"
    config.write_text(
        '[[reports]]\nname = "a"\nslack = ["#api-usage"]\nchart = true\n'
        '[[reports]]\nname = "b"\nemail = ["x@example.com"]\n',
        encoding="utf-8",
    )

    result = CliRunner().invoke(cli, ["slack-manifest", "--config", str(config)])

    assert result.exit_code == 0, result.output
    scopes = json.loads(result.output)["oauth_config"]["scopes"]["bot"]
    assert scopes == [
        *("channels:history", "channels:read", "chat:write", "files:write"),
        *("groups:history", "groups:read"),
    ]


def test_slack_manifest_without_a_slack_report_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "reportbot.toml"
    config.write_text('[[reports]]\nname = "b"\nemail = ["x@example.com"]\n', encoding="utf-8")

    result = CliRunner().invoke(
        cli, ["--config", str(config), "slack-manifest", "--format", "yaml"]
    )

    assert isinstance(result.exception, ConfigError)
    assert "no report posts to Slack" in str(result.exception)
