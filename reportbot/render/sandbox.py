"""The sandbox for templates from ``REPORTBOT_TEMPLATES``: no escapes, bounded output and time.

Jinja's ``SandboxedEnvironment`` blocks attribute escapes (``__class__``, ``mro``, unsafe
callables) but not CPU or memory: ``{{ 'a' * 10**9 }}`` passes. Here, on top of it:
- ``*``, ``**`` and ``%`` are checked before they run: no string or list longer than
  ``MAX_OUTPUT`` and no power of more than ``MAX_POWER_BITS`` bits is ever built;
- ``format``/``center``/``indent``, ``str.format`` and the padding str methods (``ljust``,
  ``rjust``, ``center``, ``zfill``, ``expandtabs``) refuse widths above ``MAX_WIDTH``;
- ``replace``, ``join`` and ``wordwrap`` (filters and str methods) refuse a result they can
  tell in advance would pass ``MAX_OUTPUT``; every filter checks the deadline and refuses a
  result past ``MAX_OUTPUT``; ``lipsum`` takes at most ``MAX_WIDTH`` paragraphs;
- ``range`` checks the render's deadline as it counts, so nested loops end in time;
- a render stops once its output passes ``MAX_OUTPUT`` characters or ``TIME_LIMIT`` seconds
  (:func:`bounded_render`). Every refusal is a ``TemplateLimitError`` naming the limit.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any

import jinja2
from jinja2 import filters as jinja_filters
from jinja2.sandbox import MAX_RANGE, SandboxedEnvironment

MAX_OUTPUT = 2_000_000  # characters one render may produce
MAX_WIDTH = 1_000  # a field width or precision in a format
MAX_EXPONENT = 1_000
MAX_POWER_BITS = 100_000  # a power of more than ~30,000 digits
TIME_LIMIT = 10.0  # seconds one render may take
_PERCENT_SPEC = re.compile(r"%[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*\}|\{[^{}]*\{")
_deadline: ContextVar[float] = ContextVar("template_deadline", default=float("inf"))


class TemplateLimitError(jinja2.TemplateError):
    """A user template asked for more output, width or time than a report needs."""


def _check_time() -> None:
    if time.monotonic() > _deadline.get():
        raise TemplateLimitError(f"the template ran longer than {TIME_LIMIT:g} s")


def _size(value: object) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple) else 1


def _checked_repeat(left: Any, right: Any) -> None:
    for seq, times in ((left, right), (right, left)):
        repeated = isinstance(times, int) and isinstance(seq, str | bytes | list | tuple)
        if repeated and _size(seq) * max(times, 0) > MAX_OUTPUT:
            raise TemplateLimitError(f"a value longer than {MAX_OUTPUT:,} characters")


def _checked_power(base: Any, exponent: Any) -> None:
    if not isinstance(exponent, int | float) or not isinstance(base, int | float):
        return
    bits = max(abs(int(base)).bit_length(), 1)
    if abs(exponent) > MAX_EXPONENT or bits * abs(exponent) > MAX_POWER_BITS:
        raise TemplateLimitError("a power too large to print")


def _checked_format(text: object) -> None:
    """Refuses a printf or str.format spec whose width/precision is huge or dynamic."""
    if not isinstance(text, str):
        return
    for spec in _PERCENT_SPEC.finditer(text):
        _checked_widths(spec.groups())
    for field in _BRACE_SPEC.findall(text):
        if field.endswith("{"):
            raise TemplateLimitError("a format width taken from a value")
        _checked_widths(re.findall(r"\d+", field.partition(":")[2]))


def _checked_widths(widths: Iterable[str | None]) -> None:
    for width in widths:
        if width == "*" or (width is not None and int(width) > MAX_WIDTH):
            raise TemplateLimitError(f"a format width above {MAX_WIDTH:,}")


def _checked_width(width: object) -> None:
    if isinstance(width, int) and width > MAX_WIDTH:
        raise TemplateLimitError(f"a width above {MAX_WIDTH:,}")
    if isinstance(width, str) and len(width) > MAX_WIDTH:
        raise TemplateLimitError(f"a width above {MAX_WIDTH:,}")


def _format(value: Any, *args: Any, **kwargs: Any) -> str:
    _checked_format(value)
    return jinja_filters.do_format(value, *args, **kwargs)


def _center(value: str, width: int = 80) -> str:
    _checked_width(width)
    return jinja_filters.do_center(value, width)


def _indent(value: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    _checked_width(width)
    return jinja_filters.do_indent(value, width, first, blank)


def _checked_size(size: int) -> None:
    if size > MAX_OUTPUT:
        raise TemplateLimitError(f"a value longer than {MAX_OUTPUT:,} characters")


def _checked_replace(text: object, old: object, new: object) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        hits = text.count(old) if old else len(text) + 1
        _checked_size(len(text) + hits * len(new))


def _checked_call(method: Any, args: tuple[Any, ...]) -> None:
    """str methods that can multiply their input: widths, replacements, separators."""
    text, name = getattr(method, "__self__", None), getattr(method, "__name__", "")
    if not isinstance(text, str) or not args:
        return
    if name in ("ljust", "rjust", "center", "zfill", "expandtabs"):
        _checked_width(args[0])
    elif name == "replace" and len(args) >= 2:
        _checked_replace(text, args[0], args[1])
    elif name == "join" and isinstance(args[0], list | tuple):
        _checked_size(len(text) * len(args[0]))


@jinja2.pass_eval_context
def _replace(eval_ctx: Any, value: str, old: str, new: str, count: int | None = None) -> str:
    _checked_replace(str(value), old, new)
    return jinja_filters.do_replace(eval_ctx, value, old, new, count)


@jinja2.pass_eval_context
def _join(eval_ctx: Any, value: Iterable[Any], d: str = "", attribute: Any = None) -> str:
    items = list(value)
    _checked_size(len(d) * len(items))
    return str(jinja_filters.do_join(eval_ctx, items, d, attribute))


@jinja2.pass_environment
def _wordwrap(env: Any, s: str, width: int = 79, *args: Any, **kwargs: Any) -> str:
    wrapstring = kwargs.get("wrapstring") or (args[1] if len(args) > 1 else None) or "\n"
    _checked_size(len(s) + len(str(wrapstring)) * (len(s) // max(int(width), 1) + 1))
    return jinja_filters.do_wordwrap(env, s, width, *args, **kwargs)


def _lipsum(n: int = 5, *args: Any, **kwargs: Any) -> str:
    _checked_width(n)
    from jinja2.utils import generate_lorem_ipsum

    return str(generate_lorem_ipsum(n, *args, **kwargs))


def _bounded(function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that checks the deadline first and refuses a result past MAX_OUTPUT."""

    @functools.wraps(function)  # keeps Jinja's pass_context / pass_eval_ctx marks
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _check_time()
        result = function(*args, **kwargs)
        if isinstance(result, str | list | tuple):
            _checked_size(len(result))
        return result

    return bounded


class _Range:
    """``range`` for templates: at most MAX_RANGE numbers, checking the deadline as it counts."""

    def __init__(self, *args: int) -> None:
        self._numbers = range(*args)
        if len(self._numbers) > MAX_RANGE:
            raise TemplateLimitError(f"a range longer than {MAX_RANGE:,}")

    def __len__(self) -> int:
        return len(self._numbers)

    def __getitem__(self, index: int) -> int:
        return self._numbers[index]

    def __iter__(self) -> Iterator[int]:
        for count, number in enumerate(self._numbers):
            if count % 1000 == 0:
                _check_time()
            yield number


class ReportSandbox(SandboxedEnvironment):
    """A SandboxedEnvironment that also bounds what an expression can build."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals.update(range=_Range, lipsum=_lipsum)
        self.filters.update(
            format=_format,
            center=_center,
            indent=_indent,
            replace=_replace,
            join=_join,
            wordwrap=_wordwrap,
        )
        self.filters.update({name: _bounded(f) for name, f in self.filters.items()})

    def call_binop(
        self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any
    ) -> Any:
        _check_time()
        if operator == "*":
            _checked_repeat(left, right)
        elif operator == "**":
            _checked_power(left, right)
        elif operator == "%":
            _checked_format(left)
        return super().call_binop(context, operator, left, right)

    def call(self, context: jinja2.runtime.Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        _check_time()
        _checked_call(obj, args)
        return super().call(context, obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _checked_format(value.__self__)  # checked when looked up, before any call
        return wrapped


def bounded_render(template: jinja2.Template, context: dict[str, Any]) -> str:
    """Render chunk by chunk, stopping past MAX_OUTPUT characters or TIME_LIMIT seconds."""
    token = _deadline.set(time.monotonic() + TIME_LIMIT)
    try:
        parts: list[str] = []
        size = 0
        for chunk in template.generate(**context):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise TemplateLimitError(f"the output passed {MAX_OUTPUT:,} characters")
            _check_time()
            parts.append(chunk)
        return "".join(parts)
    finally:
        _deadline.reset(token)
