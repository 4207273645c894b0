"""`reportbot serve`'s resident memory: idle, and after a burst of report runs (DESIGN §7).

Starts the real worker with 100 demo-account reports that are all due (each to its own
channel, so Slack's pace does not set the time), so its catch-up runs each of them once,
charts included; then reads the RSS of the worker and of its forkserver from /proc.
``BENCH_WORKER_RUNS`` changes the number of runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.slack_api import SlackApiStub  # noqa: E402

REPORTS = int(os.environ.get("BENCH_WORKER_RUNS", "100"))
TARGET_MB = 80


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def channel(n: int) -> str:
    return f"C{n:010d}"


def config(count: int) -> str:
    table = '[[reports]]\nname = "r{n}"\nperiod = "day"\nsource = "demo"\nchart = true\n'
    return "\n".join(table.format(n=n) + f'slack = ["{channel(n)}"]\n' for n in range(count))


def main() -> None:
    with (
        tempfile.TemporaryDirectory() as folder,
        SlackApiStub(
            token="xoxb-bench", channels={channel(n): f"c{n}" for n in range(REPORTS)}
        ) as slack,
    ):
        Path(folder, "reportbot.toml").write_text(config(REPORTS), encoding="utf-8")
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_API_URL": slack.url,
            "REPORTBOT_DATABASE_URL": f"sqlite:///{folder}/ledger.db",
        }
        worker = subprocess.Popen(
            [sys.executable, "-m", "reportbot", "serve"],
            cwd=folder,
            env=env,
            stderr=subprocess.DEVNULL,
        )
        try:
            started = time.monotonic()
            time.sleep(1.5)
            idle = resident_mb(worker.pid)
            deadline = time.monotonic() + 300
            while len(slack.uploads) < REPORTS and time.monotonic() < deadline:
                time.sleep(0.05)
            busy = time.monotonic() - started
            time.sleep(1)
            after = resident_mb(worker.pid)
            helpers = sum(resident_mb(child) for child in children(worker.pid))
        finally:
            worker.terminate()
            worker.wait(timeout=60)
    verdict = "ok" if after < TARGET_MB else "OVER"
    print(
        f"worker     {after:6.1f} MB  (target < {TARGET_MB} MB, {verdict})  "
        f"idle {idle:.1f} MB, after {len(slack.uploads)} runs {after:.1f} MB "
        f"(growth {after - idle:+.1f} MB), its forkserver {helpers:.1f} MB; "
        f"{REPORTS} runs with charts done {busy:.1f} s after start"
    )


if __name__ == "__main__":
    main()
