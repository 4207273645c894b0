"""Screenshot the demo report email as a desktop, a phone and a dark-mode client show it.

    .venv/bin/python scripts/screenshot_email.py [--period 2024-08] [--out docs]

Renders the demo month report's HTML (the chart as a data: URI in place of ``cid:chart``),
opens it in headless Chromium at 640 px and 375 px wide, and at 640 px with Chromium's
emulated dark mode (``--force-dark-mode``: ``prefers-color-scheme: dark``), and trims the
blank space below the email. Writes ``email-desktop.png``, ``email-phone.png``,
``email-dark.png``, the chart itself as ``chart.png``, and ``email.html`` (the last in a
temporary folder unless ``--keep-html``). Needs ``/usr/bin/chromium``
(``apt-get install -y chromium``).
"""

from __future__ import annotations

import argparse
import base64
import subprocess
import sys
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageChops

from reportbot.core.periods import parse_period
from reportbot.core.report import compute_report
from reportbot.render.email import RenderedEmail, render_email
from reportbot.sources.demo import DemoSource

CHROMIUM = "/usr/bin/chromium"
TODAY = date(2024, 9, 3)  # fixed, so the screenshots only change when the template does
SHOTS = {  # name: (width, height, extra Chromium flags)
    "desktop": (640, 2400, []),
    "phone": (375, 3000, []),
    "dark": (640, 2400, ["--force-dark-mode"]),
}


def demo_email(period: str) -> RenderedEmail:
    chosen = parse_period(period, TODAY)
    usage = DemoSource(TODAY).fetch(chosen.previous().start, chosen.end, ZoneInfo("UTC"))
    report = compute_report(
        "monthly-costs", chosen, usage, timezone="Europe/Berlin", credit_price=Decimal("0.095215")
    )
    return render_email(report)


def viewable_html(email: RenderedEmail) -> str:
    assert email.png is not None
    data = "data:image/png;base64," + base64.b64encode(email.png).decode()
    return email.html.replace('src="cid:chart"', f'src="{data}"')


def screenshot(page: Path, out: Path, size: tuple[int, int], flags: list[str]) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(  # noqa: S603 (a fixed executable, our own arguments)
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--screenshot={out}",
                f"--window-size={size[0]},{size[1]}",
                *flags,
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    trim(out)


def trim(path: Path) -> None:
    """Cut the background colour below the email, keeping a margin."""
    with Image.open(path) as shot:
        image = shot.convert("RGB")
    background = Image.new("RGB", image.size, image.getpixel((0, image.height - 1)))
    box = ImageChops.difference(image, background).getbbox()
    if box:
        image.crop((0, 0, image.width, min(image.height, box[3] + 24))).save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--period", default="2024-08")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--keep-html", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(exist_ok=True)
    email = demo_email(args.period)
    assert email.png is not None
    chart = (args.out / "chart.png").resolve()
    chart.write_bytes(email.png)
    print(chart)
    with tempfile.TemporaryDirectory() as tmp:
        page = (args.out if args.keep_html else Path(tmp)) / "email.html"
        page.write_text(viewable_html(email), encoding="utf-8")
        for name, (width, height, flags) in SHOTS.items():
            target = (args.out / f"email-{name}.png").resolve()
            screenshot(page.resolve(), target, (width, height), flags)
            print(target)


if __name__ == "__main__":
    main()
