"""Fetch, compute, render, claim, send, record: the orchestration."""
