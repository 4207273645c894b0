"""The delivery ledger: one row per (report, period, destination)."""
