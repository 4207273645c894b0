"""A big account (DESIGN §7 Scale, ten times over): 1.24 M rows, time and peak memory.

    python benchmarks/big_account.py

A month against the month before, 62 days × 20,000 APIs = 1.24 M rows, against 124 k rows
(2,000 APIs), served by the local usage API stub. Each figure is one fresh process that
fetches through UsageClient, computes the report and its insights (GC paused, as Runner.build
does) and renders text, Slack and CSV; it reports its own wall time and peak resident memory
(VmHWM, which a fresh process does not inherit from this one).

- ``big time``: the 1.24 M run's time over 10 × the 124 k run's (linear: ≤ 1.1), the
  fastest of 3 and of 5 runs.
- ``big peak``: the 1.24 M run's peak over the peak of a process that only fetches the same
  body and holds ``json.loads(body, parse_float=Decimal)``, measured side by side: what
  reading the body whole costs before any report is computed.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DAYS = 62  # 2024-07-01..2024-08-31: the month of August and the one before it
SMALL, BIG = 2_000, 20_000  # APIs: 124 k and 1.24 M rows
TIME_TARGET, PEAK_TARGET = 1.1, 0.5


def big_body(apis: int) -> bytes:
    """Rows like benchmarks/run.py's scale body (exact JSON numbers), for ``apis`` APIs."""
    first = date(2024, 7, 1)
    rows, total = [], Decimal(0)
    for i in range(DAYS):
        day = (first + timedelta(days=i)).isoformat()
        for a in range(apis):
            amount = f"{(a * 7 + i) % 997}.{a % 1000:03d}"
            total += Decimal(amount)
            rows.append(f'{{"date": "{day}", "api_id": "api-{a:05d}", "amount": {amount}}}')
    names = ", ".join(f'"api-{a:05d}": {{"title": "API {a}"}}' for a in range(apis))
    return f'{{"items": [{", ".join(rows)}], "total": {total}, "apis": {{{names}}}}}'.encode()


def child(mode: str, url: str) -> None:
    """One measured run (in its own process): prints {"seconds", "peak_mb", "rows"}."""
    import httpx

    from reportbot.core.insights import history_range, with_insights
    from reportbot.core.periods import parse_period
    from reportbot.core.report import compute_report
    from reportbot.delivery.usage import paused_gc
    from reportbot.render.csv_export import usage_csv
    from reportbot.render.slack import slack_messages
    from reportbot.render.templates import render_text
    from reportbot.sources.acedata import AGGREGATE_PATH, UsageClient

    period = parse_period("2024-08", date(2024, 9, 3))
    start = time.perf_counter()
    with httpx.Client(timeout=120) as http:
        if mode == "json":
            body = http.get(url + AGGREGATE_PATH).content
            rows = len(json.loads(body, parse_float=Decimal)["items"])
        else:
            client = UsageClient(http, url, "platform-v1-bench")
            with paused_gc():
                usage = client.fetch(history_range(period), period.end, ZoneInfo("UTC"))
                report = compute_report("big", period, usage, top=10)
                report = with_insights(report, usage, date(2024, 9, 3))
            render_text(report)
            slack_messages(report)
            usage_csv(report)
            rows = len(usage.rows)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_mb": _peak_mb(), "rows": rows}))


def _peak_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def measure(mode: str, body: bytes, runs: int) -> tuple[float, float]:
    """Fastest seconds and largest peak MB of ``runs`` fresh processes reading ``body``.

    The fastest, not the median: the work is the same each run and a busy machine only adds
    to it, so the minimum is the steadiest estimate of both sides of the time ratio."""
    from tests.fakes.usage_api import UsageApiServer

    results = []
    with UsageApiServer() as api:
        api.respond_next(200, body, {"Content-Type": "application/json"}, times=runs)
        for _ in range(runs):
            script = [sys.executable, __file__, "--child", mode, api.url]
            done = subprocess.run(script, check=True, capture_output=True, text=True, cwd=ROOT)
            results.append(json.loads(done.stdout))
    return min(r["seconds"] for r in results), max(r["peak_mb"] for r in results)


def bench_big() -> None:
    from benchmarks.run import report_line  # not in the measured children

    small, big = big_body(SMALL), big_body(BIG)
    small_s, small_mb = measure("run", small, 5)
    big_s, big_mb = measure("run", big, 3)
    _, json_mb = measure("json", big, 1)
    rows = DAYS * BIG
    report_line(
        "big time",
        big_s / (10 * small_s),
        TIME_TARGET,
        f"{rows / 1e6:.2f} M rows {big_s:.1f} s vs 10 × {DAYS * SMALL / 1e3:.0f} k rows "
        f"{small_s * 1000:.0f} ms",
    )
    report_line(
        "big peak",
        big_mb / json_mb,
        PEAK_TARGET,
        f"{rows / 1e6:.2f} M rows peak memory {big_mb:.0f} MB vs json.loads of its "
        f"{len(big) / 1e6:.0f} MB body {json_mb:.0f} MB ({DAYS * SMALL / 1e3:.0f} k rows: "
        f"{small_mb:.0f} MB)",
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3])
    else:
        bench_big()
