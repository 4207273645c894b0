"""Reports from ``reportbot.toml``, with the settings (reportbot.settings) they run with.

Every mistake is collected and reported together, naming the file, the report and the
field; nothing here echoes a secret.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from reportbot import validators
from reportbot.core.cron import DEFAULT_SCHEDULES, Cron, parse_cron
from reportbot.errors import ConfigError

if TYPE_CHECKING:  # pydantic-settings is imported when settings are read, not with the reports
    from reportbot.settings import Settings

__all__ = ["Config", "ReportConfig", "load_config", "load_settings", "read_reports"]

DEFAULT_CONFIG = "reportbot.toml"
ALERT_SCHEDULE = "0 * * * *"  # alerts check hourly unless told otherwise
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_MENTION = re.compile(r"^(@here|@channel|@everyone|[UWS][A-Z0-9]{8,})$")


class ReportConfig(BaseModel):
    """One ``[[reports]]`` table."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    name: str
    period: Literal["week", "month", "day"] = "week"
    schedule: str | None = None
    timezone: str = "UTC"
    application_id: str | None = None
    api_ids: tuple[str, ...] = ()
    user_id: str | None = None
    top: int = Field(default=10, ge=1, le=500)
    slack: tuple[str, ...] = ()
    email: tuple[str, ...] = ()
    chart: StrictBool = False
    credit_price: Decimal | None = Field(default=None, gt=0)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    source: Literal["acedata", "demo"] = "acedata"
    attach: tuple[Literal["csv", "xlsx"], ...] = ("csv",)
    thread: bool = True
    skip_empty: bool = False
    kind: Literal["report", "alert"] = "report"
    monthly_budget: Decimal | None = Field(default=None, gt=0)
    runway_days: int | None = Field(default=None, ge=1)
    spike_factor: Decimal = Field(default=Decimal(3), gt=1)
    correction_threshold: Decimal = Field(default=Decimal("0.005"), ge=0)
    mention: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _alerts_watch_days(cls, data: Any) -> Any:
        """An alert looks at yesterday (and the month so far) unless told otherwise."""
        if isinstance(data, dict) and data.get("kind") == "alert" and "period" not in data:
            return {**data, "period": "day"}
        return data

    @field_validator("name")
    @classmethod
    def _name_rule(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"{value!r} is not a report name: use lowercase letters, digits and dashes, "
                "starting with a letter or digit, at most 63 characters"
            )
        return value

    @field_validator("mention")
    @classmethod
    def _valid_mentions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [m for m in value if not _MENTION.match(m)]
        if bad:
            shown = ", ".join(repr(m) for m in bad)
            raise ValueError(
                f"{shown}: mention '@here', '@channel', a user id (U0123ABCD) or a group id "
                "(S0123ABCD)"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name like Europe/Berlin)"
            ) from None
        return value

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is not None:
            parse_cron(value)
        return value

    @field_validator("slack")
    @classmethod
    def _valid_channels(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        validators.channels(value)
        return value

    @field_validator("email")
    @classmethod
    def _valid_addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        validators.addresses(value)
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def cron(self) -> Cron:
        return parse_cron(self.schedule_expression)

    @property
    def schedule_expression(self) -> str:
        """The crontab it runs on: its own, else hourly for an alert, else its period's."""
        default = ALERT_SCHEDULE if self.kind == "alert" else DEFAULT_SCHEDULES[self.period]
        return self.schedule or default

    @property
    def destinations(self) -> tuple[str, ...]:
        """Ledger keys: ``slack:#name``, ``slack:C0..``, ``slack:webhook``, ``email:addr``."""
        return tuple(f"slack:{c}" for c in self.slack) + tuple(f"email:{a}" for a in self.email)


@dataclass(frozen=True)
class Config:
    settings: Settings
    reports: dict[str, ReportConfig]
    path: Path | None

    def select(self, names: Iterable[str], *, all_reports: bool = False) -> list[ReportConfig]:
        if all_reports:
            return list(self.reports.values())
        unknown = [n for n in names if n not in self.reports]
        if unknown:
            known = ", ".join(self.reports) or "none"
            named = ", ".join(f"{n}{validators.did_you_mean(n, self.reports)}" for n in unknown)
            raise ConfigError(f"unknown report {named} (configured: {known})")
        return [self.reports[n] for n in names]


def load_settings() -> Settings:
    from reportbot.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(*_problems("environment", exc)) from None


def load_config(path: Path | None = None, settings: Settings | None = None) -> Config:
    """Settings plus the reports file: ``path``, else REPORTBOT_CONFIG, else ./reportbot.toml."""
    settings = settings or load_settings()
    path = path or settings.config or Path(DEFAULT_CONFIG)
    reports = _reports_file(path)
    check_overrides(settings)
    return Config(settings, reports, path)


def check_overrides(settings: Settings) -> None:
    """A broken REPORTBOT_TEMPLATES override stops a command at start, naming file and line."""
    if settings.templates is not None:
        from reportbot.render.templates import check_templates  # Jinja: only when overriding

        check_templates(settings.templates)


def read_reports(path: Path | None = None) -> dict[str, ReportConfig]:
    """The reports file alone, for the read-only commands: no other setting is read or checked.

    ``path``, else REPORTBOT_CONFIG (reportbot.environment), else ./reportbot.toml. With
    REPORTBOT_TEMPLATES set, everything is loaded as for any command, so that a broken
    override stops these commands too.
    """
    from reportbot import environment

    if environment.overrides_templates():
        return load_config(path).reports
    return _reports_file(path or environment.config_path() or Path(DEFAULT_CONFIG))


def _reports_file(path: Path) -> dict[str, ReportConfig]:
    if not path.exists():
        raise ConfigError(f"{path}: no such file (copy reportbot.example.toml to start one)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_reports(data, str(path))


def parse_reports(data: dict[str, Any], source: str) -> dict[str, ReportConfig]:
    unknown = sorted(set(data) - {"reports"})
    problems = [
        f"{source}: unknown top-level key {key!r}{validators.did_you_mean(key, ['reports'])}"
        for key in unknown
    ]
    tables = data.get("reports", [])
    if not isinstance(tables, list) or not tables:
        problems.append(f"{source}: no [[reports]] defined")
        raise ConfigError(*problems)
    reports: dict[str, ReportConfig] = {}
    names: set[object] = set()
    for index, table in enumerate(tables, start=1):
        where = _where(source, index, table)
        name = table.get("name") if isinstance(table, dict) else None
        if name in names:
            problems.append(f"{where}: name: duplicate report name {name!r}")
        names.add(name)
        if isinstance(table, dict) and not table.get("slack") and not table.get("email"):
            problems.append(f"{where}: no destination (set slack = [...] and/or email = [...])")
        try:
            report = ReportConfig.model_validate(table)
        except ValidationError as exc:
            problems.extend(_problems(where, exc))
            continue
        reports.setdefault(report.name, report)
    if problems:
        raise ConfigError(*problems)
    return reports


def _where(source: str, index: int, table: Any) -> str:
    name = table.get("name") if isinstance(table, dict) else None
    return f"{source}: report {name!r}" if isinstance(name, str) else f"{source}: report #{index}"


def _problems(where: str, exc: ValidationError) -> list[str]:
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or "value"
        if error["type"] == "extra_forbidden":
            hint = validators.did_you_mean(field, ReportConfig.model_fields)
            lines.append(f"{where}: unknown key {field!r}{hint}")
            continue
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "bool_type":
            message += " (write true or false, without quotes)"
        lines.append(f"{where}: {field}: {message}")
    return lines


def missing_credentials(
    config: Config, reports: Iterable[ReportConfig], *, fetch_only: bool
) -> list[str]:
    """What the selected reports need from the environment and do not have."""
    s = config.settings
    problems: list[str] = []
    for r in reports:
        where = f"report {r.name!r}"
        if r.source == "acedata" and s.acedata_token is None:
            problems.append(
                f"{where}: ACEDATA_TOKEN is not set "
                "(create one in the console's platform tokens page)"
            )
        if fetch_only:
            continue
        if any(c != "webhook" for c in r.slack) and s.slack_bot_token is None:
            problems.append(f"{where}: slack: SLACK_BOT_TOKEN is not set")
        if "webhook" in r.slack and s.slack_webhook_url is None:
            problems.append(f"{where}: slack: 'webhook' needs SLACK_WEBHOOK_URL")
        if r.email and (s.smtp_host is None or s.smtp_from is None):
            problems.append(f"{where}: email: SMTP_HOST and SMTP_FROM must be set")
    return list(dict.fromkeys(problems))
