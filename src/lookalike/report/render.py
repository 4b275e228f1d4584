"""The report's templates (Jinja2, autoescaped): every piece of text from a run folder is escaped once, here."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from .html import bytes_uri, cell_class, columns_of, data_uri, fmt, json_text, key_numbers, kv_rows, pct


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("lookalike.report", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)
    env.filters.update(fmt=fmt, pct=pct)
    env.globals.update(data_uri=data_uri, bytes_uri=bytes_uri, cell_class=cell_class, columns_of=columns_of, key_numbers=key_numbers,
                       kv_rows=kv_rows, json_text=json_text)
    return env


def render(template: str, **context: Any) -> Markup:
    """One template rendered to (already escaped) HTML."""
    return Markup(environment().get_template(template).render(**context))


def macro(name: str, *args: Any, **kwargs: Any) -> Markup:
    """One macro of macros.html.j2, e.g. `macro("table", rows)`, for HTML built outside a section template."""
    module = environment().get_template("macros.html.j2").module
    return Markup(getattr(module, name)(*args, **kwargs))
