"""reportbot: AceData Cloud API-usage cost reports to Slack and email."""

__version__ = "0.1.0"
