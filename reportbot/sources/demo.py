"""A built-in demo account: the whole pipeline with no credentials.

A dozen APIs over the 90 days before ``today``, busier on weekdays, with one API that is
new in the last complete week, one that stopped at its start, and one spike on its
Wednesday. Kling Videos reports late: a day of it shows only a tenth of its usage until
three full days have passed, so the latest sent period gains late data (a correction).
The account has a balance (``balance()``) and the demo reports a monthly budget that the
month's pace exceeds. A day's amounts depend on the day alone (and, for the new, stopped,
spiking and late APIs, on the week ``today`` falls in), so every run shows the same figures
for the same dates and a re-run later in the week differs only by the late data.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from reportbot.core.usage import Usage, UsageRow

HISTORY_DAYS = 90
WEEKDAY_FACTOR = (1.0, 1.1, 1.15, 1.1, 0.95, 0.45, 0.35)  # Monday..Sunday
DEMO_TOML = """\
[[reports]]
name = "weekly-digest"
period = "week"
timezone = "Europe/Berlin"
top = 8
slack = ["#api-usage"]
credit_price = 0.095215
currency = "USD"
monthly_budget = 32000
runway_days = 14
source = "demo"

[[reports]]
name = "monthly-costs"
period = "month"
timezone = "Europe/Berlin"
email = ["finance@example.com"]
credit_price = 0.095215
currency = "USD"
monthly_budget = 32000
runway_days = 14
source = "demo"
"""

# api id -> (name, credits on an average weekday)
APIS: dict[str, tuple[str, float]] = {
    "a1f0c2d4-midjourney-imagine": ("Midjourney Imagine", 412.0),
    "b27e91aa-suno-audios": ("Suno Audios", 268.0),
    "c3d8e5f1-openai-chat": ("OpenAI Chat Completions", 221.5),
    "d4a9b7c2-flux-images": ("Flux Images", 143.0),
    "e5b0c8d3-kling-videos": ("Kling Videos", 96.0),
    "f6c1d9e4-luma-videos": ("Luma Videos", 71.0),
    "a7d2e0f5-serp-google": ("SERP Google Search", 38.0),
    "b8e3f1a6-face-swap": ("Face Swap", 22.5),
    "c9f4a2b7-claude-messages": ("Claude Messages", 64.0),
    "d0a5b3c8-gemini-chat": ("Gemini Chat", 17.0),
    "e1b6c4d9-nano-banana": ("Nano Banana Images", 55.0),  # new in the last complete week
    "f2c7d5e0-pika-videos": ("Pika Videos", 33.0),  # stopped at its start
    "0a1b2c3d-unnamed-beta": ("", 4.0),  # missing from the API map: shown by its id
}
NEW_API = "e1b6c4d9-nano-banana"
STOPPED_API = "f2c7d5e0-pika-videos"
SPIKE_API = "e5b0c8d3-kling-videos"
LATE_API = "e5b0c8d3-kling-videos"
LATE_DAYS = 3  # a day of LATE_API is complete once this many days have passed after it
LATE_SHOWN = 0.1  # the share of it shown before then
DEMO_BALANCE = Decimal("11250.00")  # credits left: about 9 days at the demo's pace
DEMO_MONTHLY_BUDGET = Decimal(32000)  # the demo's months run about 36,000
DEMO_RUNWAY_DAYS = 14


class DemoSource:
    """Answers like ``UsageClient.fetch`` from generated data."""

    def __init__(self, today: date) -> None:
        self.today = today

    def fetch(
        self,
        start: date,
        end: date,
        zone: ZoneInfo,
        *,
        application_id: str | None = None,
        api_ids: Sequence[str] = (),
        user_id: str | None = None,
    ) -> Usage:
        first = max(start, self.today - timedelta(days=HISTORY_DAYS))
        last = min(end, self.today - timedelta(days=1))
        wanted = [a for a in APIS if not api_ids or a in api_ids]
        rows: list[UsageRow] = []
        day = first
        while day <= last:
            rows.extend(UsageRow(day, a, amt) for a in wanted if (amt := self.amount(a, day)))
            day += timedelta(days=1)
        names = {a: name for a, (name, _) in APIS.items() if name}
        return Usage(tuple(rows), names, sum((r.amount for r in rows), Decimal(0)))

    def balance(self) -> Decimal:
        """Answers like ``BalanceClient.balance``: the credits left on the account."""
        return DEMO_BALANCE

    def amount(self, api_id: str, day: date) -> Decimal:
        last_monday = self.today - timedelta(days=self.today.weekday() + 7)
        if (api_id == NEW_API and day < last_monday) or (
            api_id == STOPPED_API and day >= last_monday
        ):
            return Decimal(0)
        base = APIS[api_id][1] * WEEKDAY_FACTOR[day.weekday()] * _season(day)
        if api_id == SPIKE_API and day == last_monday + timedelta(days=2):
            base *= 6.5
        value = base * (0.8 + 0.4 * _noise(api_id, day))
        if api_id == LATE_API and (self.today - day).days <= LATE_DAYS:
            value *= LATE_SHOWN
        return Decimal(f"{value:.3f}")


def _season(day: date) -> float:
    """A slow yearly wave of ±10%: a function of the day alone, so a re-run agrees with a run."""
    return 1.0 + 0.1 * math.sin(2 * math.pi * day.toordinal() / 365.25)


def _noise(api_id: str, day: date) -> float:
    digest = hashlib.blake2b(f"{api_id}/{day.isoformat()}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") / 0xFFFFFFFF
