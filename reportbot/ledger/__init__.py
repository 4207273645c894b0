"""The delivery ledger: one row per (report, period, destination)."""

SKIPPED = "skipped:"  # the receipt of a period done without sending (skip_empty)
