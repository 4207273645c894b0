"""Every output of a report: terminal text, Slack Block Kit, email, CSV, chart."""
