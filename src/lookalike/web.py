"""What both web servers (`study serve`, `review`) do with hostile requests, before any route runs.

- `Guard` (ASGI middleware) asks the server who may make a request (participant link,
  admin token, review secret, Host and Origin) from its line and headers alone, then
  reads the body only up to `MAX_BODY_BYTES`: a 30 MB body is refused from its
  Content-Length, or after 64 KiB when it has none, without parsing a byte of it.
- `install_error_handlers`: error bodies name the field and the problem but echo at most
  `ECHO_CHARS` characters of what was sent, and unexpected errors answer a short 500
  with no traceback.
- `same_origin`: a browser request that changes something must come from the page
  the server itself served (Origin), to a name the server answers to (Host, against
  DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

MAX_BODY_BYTES = 64 * 1024  # the largest honest body (40 training times) is under 2 KiB
ECHO_CHARS = 80
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Refusal = tuple[int, str] | None
Check = Callable[[Scope], Refusal]

log = logging.getLogger("lookalike.web")


def short(value: Any, limit: int = ECHO_CHARS) -> str:
    """`value` as text, cut to `limit` characters with a note of how much was left out."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit} more characters)"


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


async def send_json(send: Send, status: int, detail: str, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"detail": short(detail, 300)}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"), (b"connection", b"close"), *headers]})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """Refuse a request from its line and headers (`check`), then read its body with a size limit.

    `check(scope)` returns None to let the request through or (status, message). The
    body of an allowed request is read here, at most `max_body` bytes, and handed on;
    the app never sees a request that was refused, nor a byte past the limit.
    """

    def __init__(self, app: Any, check: Check | None = None, max_body: int = MAX_BODY_BYTES):
        self.app, self.check, self.max_body = app, check, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.check(scope) if self.check else None
        if refusal is None:
            refusal = self._declared_size(scope)
        if refusal is not None:
            await send_json(send, *refusal)
            return
        if scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)  # no route reads a body here
            return
        body = await self._read_body(receive)
        if body is None:
            await send_json(send, 413, f"the request body is larger than {self.max_body} bytes")
            return
        await self.app(scope, _replay(body, receive), send)

    def _declared_size(self, scope: Scope) -> Refusal:
        length = header(scope, b"content-length")
        if length is None:
            return None
        if not length.strip().isdigit():
            return 400, "Content-Length is not a number"
        if int(length) > self.max_body:
            return 413, f"the request body ({int(length)} bytes) is larger than {self.max_body} bytes"
        return None

    async def _read_body(self, receive: Receive) -> bytes | None:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _host_name(host_header: str) -> str:
    """`[::1]:8000` -> `::1`, `example.org:80` -> `example.org`."""
    return urlsplit(f"//{host_header}").hostname or ""


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def same_origin(allowed_names: Iterable[str]) -> Check:
    """A check for `Guard`: the Host must be one of `allowed_names` (or an IP address of this machine when
    the list holds "*ip"), and a state-changing request that carries an Origin must come from that host."""
    allowed = {n.lower() for n in allowed_names}

    def check(scope: Scope) -> Refusal:
        host = header(scope, b"host") or ""
        name = _host_name(host).lower()
        if not (name in allowed or ("*ip" in allowed and _is_ip(name))):
            return 421, f"this server does not answer to the host name {short(name, 60)!r}"
        if scope["method"] in SAFE_METHODS:
            return None
        origin = header(scope, b"origin")
        if origin is not None and urlsplit(origin).netloc.lower() != host.lower():
            return 403, "cross-site requests are refused (Origin does not match this server)"
        if (header(scope, b"sec-fetch-site") or "same-origin") not in ("same-origin", "none"):
            return 403, "cross-site requests are refused (Sec-Fetch-Site)"
        return None

    return check


def all_of(*checks: Check | None) -> Check:
    """One check that runs `checks` in order and returns the first refusal."""

    def check(scope: Scope) -> Refusal:
        for c in checks:
            if c is not None and (refusal := c(scope)) is not None:
                return refusal
        return None

    return check


MAX_ERRORS = 10


def _short_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validation errors with every echoed part (field names too) cut short, and at most MAX_ERRORS of them."""
    out = [{"loc": [p if isinstance(p, int) else short(str(p), 40) for p in e.get("loc", ())],
            "msg": short(e.get("msg", ""), 200), "type": e.get("type"),
            **({"input": short(e["input"])} if "input" in e else {})} for e in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        out.append({"msg": f"and {len(errors) - MAX_ERRORS} more errors"})
    return out


def install_error_handlers(app: Any) -> None:
    """Error bodies that never echo more than a short prefix of the input, and no traceback on a 500."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    headers = {"Cache-Control": "no-store"}

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Any, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _short_errors(list(exc.errors()))}, status_code=422, headers=headers)

    @app.exception_handler(HTTPException)
    async def http_error(_: Any, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"detail": short(exc.detail, 300)}, status_code=exc.status_code,
                            headers={**headers, **(exc.headers or {})})

    @app.exception_handler(Exception)
    async def unexpected(request: Any, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": f"internal error ({type(exc).__name__}); see the server's log"},
                            status_code=500, headers=headers)
