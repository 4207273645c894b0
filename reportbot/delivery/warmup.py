"""What delivering will need, loaded while a run waits for the usage API.

A run's first fetch is a network wait with the interpreter idle; the modules its
deliveries need next (slack-sdk, Jinja, the compiled Slack templates) would otherwise be
imported after that wait, while every report waits for them. ``Warmup`` loads them on a
thread of its own as the fetch goes out. It only loads: nothing is rendered, sent or
recorded, and a module or template that fails here fails again, and is reported, where a
delivery uses it.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from reportbot.destinations.factory import kind_of

MODULES = {
    "slack": ("reportbot.destinations.slack", "reportbot.render.slack"),
    "webhook": ("reportbot.destinations.webhook", "reportbot.render.slack"),
    "email": ("reportbot.destinations.email", "reportbot.destinations.smtp"),
}
TEMPLATES = {"slack": "slack/", "webhook": "slack/"}  # compiled in the Slack environment
log = logging.getLogger(__name__)


class Warmup:
    """Once per run and kind of destination, loads what sending to it needs."""

    def __init__(
        self,
        templates: Path | None = None,
        *,
        load: Callable[[list[str], Path | None], None] | None = None,
    ) -> None:
        self.templates = templates
        self._load = load or load_kinds
        self._wanted: set[str] = set()
        self._loading: set[str] = set()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def want(self, destinations: Iterable[str]) -> None:
        """Deliveries to ``destinations`` are coming: load their kinds at the next start()."""
        with self._lock:
            self._wanted.update(kind_of(d) for d in destinations)

    def start(self) -> None:
        """Load the kinds wanted and not loaded yet, on a thread of its own."""
        with self._lock:
            kinds = sorted((self._wanted - self._loading) & MODULES.keys())
            if not kinds:
                return
            self._loading.update(kinds)
            thread = threading.Thread(
                target=self._load, args=(kinds, self.templates), name="warmup", daemon=True
            )
            self._threads.append(thread)
        thread.start()

    def join(self) -> None:
        with self._lock:
            threads, self._threads = self._threads, []
        for thread in threads:
            thread.join()


def load_kinds(kinds: Iterable[str], templates: Path | None) -> None:
    """Import the modules of ``kinds`` and compile their templates."""
    for kind in kinds:
        try:
            for module in MODULES[kind]:
                importlib.import_module(module)
            if kind in TEMPLATES:
                _compile(TEMPLATES[kind], templates)
        except Exception as exc:  # the delivery that needs it meets it again and says why
            log.debug("warming up %s failed (%s)", kind, type(exc).__name__)


def _compile(folder: str, override: Path | None) -> None:
    """Compile the templates the Slack environment will render (Jinja caches them)."""
    from reportbot.render.templates import environment

    env = environment("slack", override)
    for name in env.list_templates(filter_func=lambda name: name.startswith(folder)):
        env.get_template(name)
