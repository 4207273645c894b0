"""reportbot's performance figures (DESIGN §7), printed as ratios against a baseline.

    python benchmarks/run.py            # all (about 6 minutes: pacing alone takes 200 s)
    python benchmarks/run.py startup    # one of the names in BENCHES below

Each figure is the median of several runs; the target is printed beside it. These are not
tests: a noisy machine moves them, so they report instead of failing. Smaller, quicker
runs: BENCH_PACING_REPORTS=30, BENCH_WORKER_RUNS=10.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.usage_api import UsageApiServer, encode_json  # noqa: E402

PYTHON = sys.executable


def median_seconds(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def command(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> Callable[[], object]:
    full_env = {**os.environ, **(env or {})}
    return lambda: subprocess.run(args, check=True, capture_output=True, env=full_env, cwd=cwd)


def report_line(name: str, ratio: float, target: float, detail: str) -> None:
    verdict = "ok" if ratio <= target else "OVER"
    print(f"{name:<10} {ratio:6.2f}x  (target ≤ {target:g}x, {verdict})  {detail}")


def bench_startup() -> None:
    baseline = median_seconds(command(PYTHON, "-c", "pass"), 21)
    helped = median_seconds(command(PYTHON, "-m", "reportbot", "--help"), 21)
    report_line(
        "startup",
        helped / baseline,
        6,
        f"--help {helped * 1000:.0f} ms vs python -c pass {baseline * 1000:.0f} ms",
    )


NAIVE = """
import sys, httpx
from collections import defaultdict
params = {"created_at_from": "2024-08-04T22:00:00Z",
          "created_at_to": "2024-08-18T21:59:59Z", "timezone": "Europe/Berlin"}
r = httpx.get(sys.argv[1] + "/api/v1/usage/apis/aggregate/", params=params,
              headers={"authorization": "Bearer t"})
totals = defaultdict(float)
for row in r.json()["items"]:
    totals[row["api_id"]] += float(row["amount"])
for api, total in sorted(totals.items(), key=lambda kv: -kv[1]):
    print(api, round(total, 2))
"""


def bench_report() -> None:
    rows = [
        {
            "date": (date(2024, 8, 5) + timedelta(days=d)).isoformat(),
            "api_id": f"api-{a}",
            "amount": "12.5",
        }
        for d in range(14)
        for a in range(12)
    ]
    with tempfile.TemporaryDirectory() as folder, UsageApiServer() as api:
        api.serve_rows(rows)
        Path(folder, "reportbot.toml").write_text(
            '[[reports]]\nname = "weekly"\ntimezone = "Europe/Berlin"\nslack = ["#x"]\n',
            encoding="utf-8",
        )
        naive_script = Path(folder, "naive.py")
        naive_script.write_text(NAIVE, encoding="utf-8")
        naive = median_seconds(command(PYTHON, str(naive_script), api.url), 11)
        env = {"ACEDATA_TOKEN": "platform-v1-bench", "ACEDATA_BASE_URL": api.url}
        ours = median_seconds(
            command(
                PYTHON,
                "-m",
                "reportbot",
                "run",
                "weekly",
                "--period",
                "2024-W33",
                "--dry-run",
                env=env,
                cwd=Path(folder),
            ),
            11,
        )
    report_line(
        "report",
        ours / naive,
        3,
        f"run --dry-run {ours * 1000:.0f} ms vs naive script {naive * 1000:.0f} ms",
    )


def bench_scale() -> None:
    from reportbot.core.periods import parse_period
    from reportbot.core.report import compute_report
    from reportbot.delivery.usage import paused_gc
    from reportbot.render.csv_export import usage_csv
    from reportbot.render.slack import slack_messages
    from reportbot.render.templates import render_text
    from reportbot.sources.usage_body import parse_usage

    period = parse_period("2024-08", date(2024, 9, 3))
    days = [period.previous().start + timedelta(days=i) for i in range(62)]
    rows = [
        {
            "date": day.isoformat(),
            "api_id": f"api-{a:04d}",
            "amount": Decimal(f"{(a * 7 + i) % 997}.{a % 1000:03d}"),
        }
        for i, day in enumerate(days)
        for a in range(2000)
    ]
    body = encode_json(
        {
            "items": rows,
            "total": sum((r["amount"] for r in rows), Decimal(0)),
            "apis": {f"api-{a:04d}": {"title": f"API {a}"} for a in range(2000)},
        }
    )

    def pipeline() -> None:
        with paused_gc():  # as Runner.build does
            usage = parse_usage(body, period.previous().start, period.end)
            report = compute_report("scale", period, usage, top=10)
        render_text(report)
        slack_messages(report)
        usage_csv(report)

    pipeline()  # warm caches (templates compiled once per process, as in real runs)
    baseline = median_seconds(lambda: json.loads(body), 5)
    ours = median_seconds(pipeline, 5)
    report_line(
        "scale",
        ours / baseline,
        5,
        f"{len(rows):,} rows: parse+compute+render {ours * 1000:.0f} ms"
        f" vs json.loads {baseline * 1000:.0f} ms",
    )


def bench_big() -> None:
    from benchmarks.big_account import bench_big as big_account

    big_account()


def bench_worker() -> None:
    script = ROOT / "benchmarks" / "worker_memory.py"
    if not script.exists():
        print("worker     (skipped: benchmarks/worker_memory.py not present)")
        return
    subprocess.run([PYTHON, str(script)], check=True)


def bench_listing() -> None:
    """`list` and `history` against python -c pass (target 20x), on a ledger with rows."""
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "reportbot.toml").write_text(
            (ROOT / "reportbot.example.toml").read_text(encoding="utf-8"), encoding="utf-8"
        )
        env = {"REPORTBOT_DATABASE_URL": f"sqlite:///{folder}/ledger.db"}
        from reportbot.ledger.store import Ledger

        with Ledger(env["REPORTBOT_DATABASE_URL"]) as ledger:
            for n in range(200):
                claim = ledger.claim(
                    "weekly-digest",
                    f"2020-W{n % 52 + 1:02d}-{n}",
                    date(2020, 1, 6),
                    date(2020, 1, 12),
                    "slack:#api-usage",
                )
                assert claim is not None
                ledger.mark_sent(claim, f"1700000000.{n:06d}")
        baseline = median_seconds(command(PYTHON, "-c", "pass"), 21)
        for name in ("list", "history"):
            ours = median_seconds(
                command(PYTHON, "-m", "reportbot", name, env=env, cwd=Path(folder)), 11
            )
            report_line(
                name,
                ours / baseline,
                20,
                f"{name} {ours * 1000:.0f} ms vs python -c pass {baseline * 1000:.0f} ms",
            )


def _fanout_config(reports: int, channels: list[str]) -> str:
    return "".join(
        f'[[reports]]\nname = "r{n}"\ntimezone = "Europe/Berlin"\n'
        f'slack = ["{channels[n % len(channels)]}"]\n\n'
        for n in range(reports)
    )


def _run_all(folder: str, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    result = subprocess.run(
        [PYTHON, "-m", "reportbot", "run", "--all", "--period", "2024-W33"],
        cwd=folder,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    return time.perf_counter() - start, result


def bench_fanout() -> None:
    """200 reports, services adding 100 ms a request: against the network-bound limit."""
    from tests.fakes.slack_api import SlackApiStub

    reports, latency, concurrency = 200, 0.1, 8
    channels = {f"C{n:010d}": f"c{n}" for n in range(reports)}
    with (
        tempfile.TemporaryDirectory() as folder,
        UsageApiServer() as api,
        SlackApiStub(token="xoxb-bench", channels=channels) as slack,
    ):
        api.serve_rows([{"date": "2024-08-13", "api_id": "a", "amount": "1"}])
        api.latency = slack.latency = latency
        Path(folder, "reportbot.toml").write_text(
            _fanout_config(reports, list(channels)), encoding="utf-8"
        )
        env = {
            "ACEDATA_TOKEN": "platform-v1-bench",
            "ACEDATA_BASE_URL": api.url,
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_API_URL": slack.url,
            "REPORTBOT_DATABASE_URL": f"sqlite:///{folder}/ledger.db",
            "REPORTBOT_CONCURRENCY": str(concurrency),
        }
        seconds, result = _run_all(folder, env)
        fetches = len(api.usage_requests)
        per_report = 2  # conversations.history (the idempotency look-up) + chat.postMessage
        balance = len(api.requests) - fetches
    # One shared fetch (+ the balance), then each report's Slack calls, 8 at a time.
    limit = (fetches + balance) * latency + -(-reports // concurrency) * per_report * latency
    failed = result.stdout.count(": failed")
    report_line(
        "fan-out",
        seconds / limit,
        1.25,
        f"{reports} reports in {seconds:.1f} s vs network-bound {limit:.1f} s at concurrency "
        f"{concurrency}; {fetches} usage fetch(es) shared, {failed} failed",
    )


def bench_pacing() -> None:
    """Reports to ONE channel against a stub that enforces Slack's 1/s: 0 failures."""
    from tests.fakes.slack_api import SlackApiStub

    reports = int(os.environ.get("BENCH_PACING_REPORTS", "200"))
    with (
        tempfile.TemporaryDirectory() as folder,
        UsageApiServer() as api,
        SlackApiStub(token="xoxb-bench", per_channel_rate=1.0, burst=3) as slack,
    ):
        api.serve_rows([{"date": "2024-08-13", "api_id": "a", "amount": "1"}])
        Path(folder, "reportbot.toml").write_text(
            _fanout_config(reports, ["C0123456789"]), encoding="utf-8"
        )
        env = {
            "ACEDATA_TOKEN": "platform-v1-bench",
            "ACEDATA_BASE_URL": api.url,
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_API_URL": slack.url,
            "REPORTBOT_DATABASE_URL": f"sqlite:///{folder}/ledger.db",
        }
        seconds, result = _run_all(folder, env)
        limited = slack.rate_limited
    floor = max(reports - 3, 1) * 1.0  # the burst goes at once, then one a second
    failed = result.stdout.count(": failed")
    report_line(
        "pacing",
        seconds / floor,
        1.15,
        f"{reports} reports to one channel in {seconds:.1f} s vs the 1/s floor {floor:.0f} s;"
        f" {failed} failed, {limited} answered 429",
    )


BENCHES = {
    "startup": bench_startup,
    "listing": bench_listing,
    "fanout": bench_fanout,
    "pacing": bench_pacing,
    "report": bench_report,
    "scale": bench_scale,
    "big": bench_big,
    "worker": bench_worker,
}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(BENCHES):
        BENCHES[name]()
