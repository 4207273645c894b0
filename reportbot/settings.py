"""Secrets and deployment settings, from the environment and ``.env`` (DESIGN §3).

Nothing here echoes a secret: pydantic hides inputs in its errors, secrets are
``SecretStr``, and every secret read is handed to the log scrubber (reportbot.logs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from reportbot import environment, validators


class Settings(BaseSettings):
    """Secrets and deployment settings (DESIGN §3)."""

    model_config = SettingsConfigDict(
        env_file=environment.ENV_FILE,
        extra="ignore",
        hide_input_in_errors=True,
        case_sensitive=False,
    )

    acedata_token: SecretStr | None = None
    acedata_base_url: str = "https://platform.acedata.cloud"
    slack_bot_token: SecretStr | None = None
    slack_webhook_url: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = None
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    database_url: str = Field(  # reportbot.environment reads these two the same way
        default=environment.DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices(*environment.DATABASE_URL),
    )
    claim_timeout: int = Field(
        default=900, ge=1, validation_alias=AliasChoices("REPORTBOT_CLAIM_TIMEOUT")
    )
    templates: Path | None = Field(
        default=None, validation_alias=AliasChoices(*environment.TEMPLATES)
    )
    concurrency: int = Field(
        default=8, ge=1, le=64, validation_alias=AliasChoices("REPORTBOT_CONCURRENCY")
    )
    log_format: Literal["text", "json"] | None = Field(
        default=None, validation_alias=AliasChoices("REPORTBOT_LOG_FORMAT")
    )
    heartbeat_url: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("REPORTBOT_HEARTBEAT_URL")
    )
    heartbeat_interval: int = Field(
        default=300, ge=1, validation_alias=AliasChoices("REPORTBOT_HEARTBEAT_INTERVAL")
    )
    metrics_port: int | None = Field(
        default=None, ge=0, le=65535, validation_alias=AliasChoices("REPORTBOT_METRICS_PORT")
    )
    metrics_host: str = Field(
        default="0.0.0.0",  # noqa: S104 - a worker's /metrics is scraped from outside
        validation_alias=AliasChoices("REPORTBOT_METRICS_HOST"),
    )
    config: Path | None = Field(default=None, validation_alias=AliasChoices(*environment.CONFIG))

    @field_validator(
        "smtp_host", "smtp_username", "smtp_from", "templates", "config", mode="before"
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(
        "acedata_token",
        "slack_bot_token",
        "slack_webhook_url",
        "smtp_password",
        "heartbeat_url",
        "log_format",
        "metrics_port",
        mode="before",
    )
    @classmethod
    def _blank_secret_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("slack_webhook_url", "slack_bot_token")
    @classmethod
    def _sendable(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        """Checked here, since a library would put a bad URL or token (the secret) in errors."""
        if value is None:
            return None
        return SecretStr(validators.sendable(info.field_name or "", value.get_secret_value()))

    @field_validator("smtp_from")
    @classmethod
    def _sender_is_an_address(cls, value: str | None) -> str | None:
        return None if value is None else validators.sender(value)

    def model_post_init(self, context: Any, /) -> None:
        """Every secret read (from the environment or ``.env``) is scrubbed from the logs."""
        self._remember_secrets()

    def __setstate__(self, state: dict[Any, Any]) -> None:
        """Unpickled in a worker's child process: its logs are scrubbed there too."""
        super().__setstate__(state)
        self._remember_secrets()

    def _remember_secrets(self) -> None:
        from reportbot.logs import SECRETS

        for name in ("acedata_token", "slack_bot_token", "slack_webhook_url", "smtp_password"):
            secret: SecretStr | None = getattr(self, name)
            SECRETS.add(name.upper(), secret.get_secret_value() if secret else None)
        heartbeat = self.heartbeat_url
        SECRETS.add("REPORTBOT_HEARTBEAT_URL", heartbeat.get_secret_value() if heartbeat else None)
        SECRETS.add_database_url(self.database_url)

    @field_validator("templates")
    @classmethod
    def _templates_folder_exists(cls, value: Path | None) -> Path | None:
        return None if value is None else validators.folder("REPORTBOT_TEMPLATES", value)
