"""Rendering the console's Jinja2 templates in one language: one environment per language with
its gettext catalogue installed, autoescaping on, and the page's security headers.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from gateway.console.i18n import LANGUAGES, Formatter, translations

# No inline script or style, nothing from elsewhere, never framed; forms post only here.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


@cache
def environment(language: str) -> Environment:
    env = Environment(
        loader=PackageLoader("gateway.console", "templates"),
        autoescape=select_autoescape(["html", "svg"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals["LANGUAGES"] = LANGUAGES
    return env


def stylesheet(name: str) -> str:
    """A stylesheet's text, for documents that must stand alone (the letter from the CLI)."""
    return (resources.files("gateway.console") / "static" / name).read_text("utf-8")


def render(name: str, fmt: Formatter, **context: Any) -> str:
    return environment(fmt.language).get_template(name).render(fmt=fmt, **context)


def page(name: str, fmt: Formatter, *, status: int = 200, **context: Any) -> HTMLResponse:
    """An HTML page with the console's security headers."""
    return HTMLResponse(render(name, fmt, **context), status_code=status, headers=SECURITY_HEADERS)
