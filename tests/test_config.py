from __future__ import annotations

from pathlib import Path

import pytest

from reportbot.config import load_config, missing_credentials
from reportbot.errors import ConfigError

GOOD = """
[[reports]]
name = "weekly-digest"
slack = ["#api-usage", "C0123456789"]
timezone = "Europe/Berlin"

[[reports]]
name = "monthly-costs"
period = "month"
email = ["finance@example.com"]
credit_price = 0.095215
"""


def write(folder: Path, text: str) -> Path:
    path = folder / "reportbot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.exit_status == 2
    return caught.value.problems


def test_it_reads_reports_with_defaults(workdir: Path) -> None:
    config = load_config(write(workdir, GOOD))
    weekly, monthly = config.reports["weekly-digest"], config.reports["monthly-costs"]
    assert weekly.period == "week" and weekly.top == 10
    assert weekly.cron.day_of_week == "mon" and weekly.cron.hour == "9"
    assert monthly.cron.day == "1"
    assert weekly.destinations == ("slack:#api-usage", "slack:C0123456789")
    assert monthly.destinations == ("email:finance@example.com",)
    assert str(monthly.credit_price) == "0.095215"


def test_it_finds_reportbot_toml_in_the_working_directory(workdir: Path) -> None:
    write(workdir, GOOD)
    assert set(load_config().reports) == {"weekly-digest", "monthly-costs"}


def test_it_reads_the_config_path_from_the_environment(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = workdir / "elsewhere.toml"
    other.write_text(GOOD, encoding="utf-8")
    monkeypatch.setenv("REPORTBOT_CONFIG", str(other))
    assert load_config().path == other


def test_it_reports_every_mistake_at_once_naming_file_report_and_field(workdir: Path) -> None:
    path = write(
        workdir,
        """
[[reports]]
name = "weekly"
timezone = "Europe/Berln"
schedule = "0 9 * *"
email = ["not-an-address"]

[[reports]]
name = "weekly"
slack = ["#ok"]

[[reports]]
name = "quiet"

[[reports]]
name = "Bad Name"
slack = ["#x"]
top = 0
""",
    )
    problems = problems_of(path)
    text = "\n".join(problems)
    assert len(problems) == 7, text
    assert f"{path}: report 'weekly': timezone: unknown time zone 'Europe/Berln'" in text
    assert "report 'weekly': schedule:" in text and "5 fields" in text
    assert "report 'weekly': email: 'not-an-address' is not an email address" in text
    assert "name: duplicate report name 'weekly'" in text
    assert "report 'quiet': no destination" in text
    assert "report 'Bad Name': name:" in text
    assert "report 'Bad Name': top:" in text


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("slack", '["api-usage"]', "is not a channel"),
        ("slack", '["#a", "#a"]', "listed twice"),
        ("period", '"year"', "period"),
        ("schedule", '"0 9 * * 8"', "day_of_week"),
        ("schedule", '"0 9 1 * 1"', "day-of-month and day-of-week"),
        ("credit_price", "-1", "greater than 0"),
        ("slack", '["api-usage", "#ok", "x y", "C1"]', "'api-usage', 'x y', 'C1' are not channels"),
        ("email", '["a@b.co", "nope", "also@nope", "c@d.co"]', "'nope', 'also@nope' are not email"),
        (
            "email",
            '["a@b.co", "a@b.co", "c@d.co", "c@d.co"]',
            "'a@b.co', 'c@d.co' are listed twice",
        ),
        ("chart", '"yes"', "valid boolean (write true or false, without quotes)"),
        ("chart", "1", "valid boolean"),
    ],
)
def test_it_rejects_a_bad_field(workdir: Path, field: str, value: str, expected: str) -> None:
    destination = 'slack = ["#x"]' if field == "email" else 'email = ["a@b.co"]'
    path = write(workdir, f'[[reports]]\nname = "r"\n{destination}\n{field} = {value}\n')
    (problem,) = problems_of(path)
    assert f"report 'r': {field}" in problem and expected in problem


def test_it_says_the_toml_is_invalid_in_one_line(workdir: Path) -> None:
    (problem,) = problems_of(write(workdir, "[[reports]\nname="))
    assert "not valid TOML" in problem and "\n" not in problem


def test_it_says_when_the_file_is_missing(workdir: Path) -> None:
    (problem,) = problems_of(workdir / "nope.toml")
    assert "no such file" in problem and "reportbot.example.toml" in problem


def test_it_requires_at_least_one_report(workdir: Path) -> None:
    assert problems_of(write(workdir, "")) == [
        f"{workdir / 'reportbot.toml'}: no [[reports]] defined"
    ]


def test_it_reads_secrets_from_a_dotenv_file_and_ignores_unrelated_keys(workdir: Path) -> None:
    (workdir / ".env").write_text(
        "ACEDATA_TOKEN=platform-v1-secret\nUNRELATED=1\nDATABASE_URL=postgres://u@h/db\n",
        encoding="utf-8",
    )
    settings = load_config(write(workdir, GOOD)).settings
    assert settings.acedata_token is not None
    assert settings.acedata_token.get_secret_value() == "platform-v1-secret"
    assert "platform-v1-secret" not in repr(settings)
    assert settings.database_url == "postgres://u@h/db"


def test_reportbot_database_url_wins_over_database_url(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/one")
    monkeypatch.setenv("REPORTBOT_DATABASE_URL", "sqlite:///two.db")
    assert load_config(write(workdir, GOOD)).settings.database_url == "sqlite:///two.db"


def test_a_bad_environment_value_is_reported_without_echoing_it(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_PORT", "hunter2-secret")
    monkeypatch.setenv("SMTP_SECURITY", "tls-secret")
    problems = problems_of(write(workdir, GOOD))
    assert any("smtp_port" in p for p in problems) and any("smtp_security" in p for p in problems)
    assert "secret" not in "\n".join(problems)


def test_it_lists_missing_credentials_per_destination(workdir: Path) -> None:
    text = GOOD.replace('"C0123456789"]', '"C0123456789", "webhook"]')
    config = load_config(write(workdir, text))
    reports = list(config.reports.values())
    problems = missing_credentials(config, reports, fetch_only=False)
    assert problems == [
        "report 'weekly-digest': ACEDATA_TOKEN is not set "
        "(create one in the console's platform tokens page)",
        "report 'weekly-digest': slack: SLACK_BOT_TOKEN is not set",
        "report 'weekly-digest': slack: 'webhook' needs SLACK_WEBHOOK_URL",
        "report 'monthly-costs': ACEDATA_TOKEN is not set "
        "(create one in the console's platform tokens page)",
        "report 'monthly-costs': email: SMTP_HOST and SMTP_FROM must be set",
    ]
    assert len(missing_credentials(config, reports, fetch_only=True)) == 2


def test_selecting_an_unknown_report_names_the_known_ones(workdir: Path) -> None:
    config = load_config(write(workdir, GOOD))
    with pytest.raises(
        ConfigError, match=r"unknown report nope \(configured: weekly-digest, monthly-costs\)"
    ):
        config.select(["nope"])


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("scheduel", "unknown key 'scheduel' (did you mean 'schedule'?)"),
        ("time_zone", "unknown key 'time_zone' (did you mean 'timezone'?)"),
        ("colour", "unknown key 'colour'"),
    ],
)
def test_an_unknown_key_says_which_key_was_meant(workdir: Path, key: str, expected: str) -> None:
    path = write(workdir, f'[[reports]]\nname = "r"\nemail = ["a@b.co"]\n{key} = "x"\n')
    assert problems_of(path) == [f"{path}: report 'r': {expected}"]


def test_an_unknown_top_level_key_says_which_key_was_meant(workdir: Path) -> None:
    path = write(workdir, GOOD + '\n[[report]]\nname = "x"\n')
    assert problems_of(path) == [
        f"{path}: unknown top-level key 'report' (did you mean 'reports'?)"
    ]


def test_selecting_a_mistyped_report_suggests_the_one_meant(workdir: Path) -> None:
    config = load_config(write(workdir, GOOD))
    with pytest.raises(ConfigError) as caught:
        config.select(["weekly-digst", "nope"])
    assert str(caught.value) == (
        "unknown report weekly-digst (did you mean 'weekly-digest'?), nope "
        "(configured: weekly-digest, monthly-costs)"
    )


WEBHOOK_SECRET = "SEKRET-0123-hook"


@pytest.mark.parametrize(
    "url",
    [
        f"http://127.0.0.1:9/hooks/{WEBHOOK_SECRET} 0123",
        f"127.0.0.1:9/hooks/{WEBHOOK_SECRET}",
        f"ftp://hooks.slack.com/services/{WEBHOOK_SECRET}",
        f"https:///services/{WEBHOOK_SECRET}",
        f"https://hooks.slack.com:99999/services/{WEBHOOK_SECRET}",
        f"https://hooks.slack.com/services/{WEBHOOK_SECRET}\r\nX: y",
        f"https://hooks.slack.com/services/{WEBHOOK_SECRET}\u00e9",
    ],
)
def test_a_malformed_webhook_url_is_refused_at_load_without_showing_it(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", url)
    (problem,) = problems_of(write(workdir, GOOD))
    assert "SLACK_WEBHOOK_URL is not an http(s) URL" in problem
    assert WEBHOOK_SECRET not in problem and "hooks" not in problem.split("Incoming")[0]


def test_a_webhook_url_with_spaces_around_it_is_stripped(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", " http://127.0.0.1:9/services/T/B/x \n")
    settings = load_config(write(workdir, GOOD)).settings
    assert settings.slack_webhook_url is not None
    assert settings.slack_webhook_url.get_secret_value() == "http://127.0.0.1:9/services/T/B/x"


@pytest.mark.parametrize(
    ("sender", "ok"),
    [
        ("reportbot@example.com", True),
        ("Reportbot <reportbot@example.com>", True),
        ('"Cost, Reports" <bot@mail.local>', True),
        ("bot@localhost", True),
        ("reportbot", False),
        ("Reportbot <reportbot>", False),
        ("a@b.co\r\nBcc: victim@example.com", False),
        ("Name <a@b.co>\nX", False),
        ("a@b.co, c@d.co", False),
        ("<a@b.co> trailing", False),
    ],
)
def test_smtp_from_must_be_one_address_on_one_line(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, sender: str, ok: bool
) -> None:
    monkeypatch.setenv("SMTP_FROM", sender)
    if ok:
        assert load_config(write(workdir, GOOD)).settings.smtp_from == sender
        return
    (problem,) = problems_of(write(workdir, GOOD))
    assert "SMTP_FROM must be addr@domain or Name <addr@domain>, on one line" in problem


def test_a_missing_templates_folder_is_a_config_error(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPORTBOT_TEMPLATES", str(workdir / "my-templates"))
    (problem,) = problems_of(write(workdir, GOOD))
    assert f"REPORTBOT_TEMPLATES {str(workdir / 'my-templates')!r} is not a folder" in problem
    (workdir / "my-templates").mkdir()
    assert load_config(write(workdir, GOOD)).settings.templates == workdir / "my-templates"


@pytest.mark.parametrize("token", ["xoxb-SEKRET\r\nX: 1", "xoxb-SEKRET two", "xoxb-SEKRET-\u00e9"])
def test_a_slack_token_that_no_header_can_carry_is_refused_without_showing_it(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", token)
    (problem,) = problems_of(write(workdir, GOOD))
    assert "SLACK_BOT_TOKEN contains spaces or characters an HTTP header cannot carry" in problem
    assert "SEKRET" not in problem


def test_the_report_name_rule_is_said_in_words() -> None:
    from reportbot.config import parse_reports
    from reportbot.errors import ConfigError

    with pytest.raises(ConfigError) as raised:
        parse_reports({"reports": [{"name": "Weekly Digest", "slack": ["#x"]}]}, "r.toml")
    assert "use lowercase letters, digits and dashes" in str(raised.value)
    assert "pattern" not in str(raised.value)
