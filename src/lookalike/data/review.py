"""`lookalike review`: a local page to keep or drop the faces the filter was unsure about (§3 step 4b).

The page lists `data/review_queue.json` (written by `prepare`), shows each face
crop beside its source photo with the face boxed, and saves every click or key
press at once into `data/review.json` (atomic write, under a lock). Only this
server writes that file; `prepare` reads it and never overwrites it. "Apply"
reruns `prepare` with its saved settings, which reuses every cached result.

The page lives under a secret path printed at start (`http://127.0.0.1:8765/<secret>/`),
answers only to this machine's names, and refuses state-changing requests from other
pages (Origin): a web page open in another tab cannot rewrite the data set.
"""

from __future__ import annotations

import datetime as dt
import io
import secrets
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..contract import REVIEW, REVIEW_QUEUE
from ..errors import InputError, LookalikeError
from ..io import read_json
from ..runfolder import Run
from ..web import Check, Guard, Refusal, all_of, install_error_handlers, same_origin, short

STATIC = Path(__file__).with_name("review_static")
DECISIONS = ("keep", "drop")
LOCAL_NAMES = ("127.0.0.1", "localhost", "::1")


class Decision(BaseModel):
    """Body of POST /api/decision: a face id from the queue and keep | drop | null (undecided)."""

    id: str
    decision: str | None = None


class ReviewUnreadable(Exception):
    """review.json or review_queue.json cannot be used as it is; the message says what to do (answered 409)."""


class ReviewStore:
    """review.json, read and written under one lock so two quick clicks never lose a decision."""

    def __init__(self, data_dir: Path):
        self.path = data_dir / "review.json"
        self.lock = threading.Lock()

    def load(self) -> dict[str, Any]:
        """The saved decisions; InputError when the file is not what this page writes (it is never replaced)."""
        if not self.path.exists():
            return {"decisions": {}}
        return REVIEW.read_at(self.path).to_json()

    def decisions(self) -> dict[str, Any]:
        """The decisions by face id, or ReviewUnreadable: a damaged review.json is refused, never replaced."""
        try:
            return self.load()["decisions"]
        except (OSError, InputError) as exc:
            raise ReviewUnreadable(f"review.json cannot be read ({short(str(exc), 120)}); fix or move it: "
                                   "nothing overwrites it") from None

    def decide(self, face_id: str, decision: str | None) -> dict[str, Any]:
        with self.lock:
            state = self.load()
            if decision is None:
                state["decisions"].pop(face_id, None)
            else:
                stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
                state["decisions"][face_id] = {"decision": decision, "at": stamp}
            return REVIEW.write_at(self.path, state).to_json()


def _photo_jpeg(photo: Path, box: list[float], max_side: int = 420) -> bytes:
    """The source photo, upright and RGB (any input format), with the face boxed, as a small JPEG."""
    from PIL import Image, ImageDraw

    from .images import decode_image

    rgb = decode_image(photo).rgb
    img = Image.fromarray(rgb)
    scale = min(1.0, max_side / max(img.size))
    if scale < 1.0:
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.LANCZOS)
    if len(box) == 4:
        left, top, right, bottom = (v * scale for v in box)
        ImageDraw.Draw(img).rectangle([left, top, right, bottom], outline=(255, 40, 40), width=max(2, img.width // 150))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


class Queue:
    """review_queue.json as `prepare` last wrote it: the faces to review, looked up by id."""

    def __init__(self, run: Run):
        self.path = REVIEW_QUEUE.require(run)

    def read(self) -> dict[str, Any]:
        try:
            return REVIEW_QUEUE.read_at(self.path).to_json()
        except (OSError, LookalikeError) as exc:
            raise ReviewUnreadable(f"{self.path.name} cannot be used ({short(str(exc), 160)}): rerun "
                                   "`lookalike prepare`") from None

    def item(self, face_id: str) -> dict[str, Any]:
        from fastapi import HTTPException

        for it in self.read()["items"]:
            if it["id"] == face_id:
                return it
        raise HTTPException(404, f"{short(face_id, 60)} is not in the review queue")


def add_decisions(router: Any, run: Run, queue: Queue, store: ReviewStore) -> None:
    """The page, the queue with its decisions, and saving one decision."""
    from fastapi import HTTPException
    from fastapi.responses import HTMLResponse

    @router.get("/", response_class=HTMLResponse)
    def page() -> str:
        return (STATIC / "review.html").read_text(encoding="utf-8")

    @router.get("/api/queue")
    def api_queue() -> dict[str, Any]:
        q, decided = queue.read(), store.decisions()
        for it in q["items"]:
            d = decided.get(it["id"])
            it["decision"] = d.get("decision") if isinstance(d, dict) else d
        return {"identities": q["identities"], "items": q["items"], "run": str(run.root)}

    @router.post("/api/decision")
    def api_decision(body: Decision) -> dict[str, Any]:
        if body.decision is not None and body.decision not in DECISIONS:
            raise HTTPException(422, f"decision must be one of {DECISIONS} or null")
        queue.item(body.id)
        store.decisions()  # a damaged review.json is refused, never replaced
        state = store.decide(body.id, body.decision)
        return {"id": body.id, "decision": body.decision, "decided": len(state["decisions"])}


def add_pictures(router: Any, run: Run, queue: Queue) -> None:
    """The face crop and its source photo with the face boxed; only ids from our own queue reach the disk."""
    from fastapi import HTTPException
    from fastapi.responses import FileResponse, Response

    @router.get("/crop")
    def crop(id: str) -> FileResponse:
        path = run.data / queue.item(id)["crop"]
        if not path.is_file() or run.data.resolve() not in path.resolve().parents:
            raise HTTPException(404, "crop not found: rerun `lookalike prepare`")
        return FileResponse(path, media_type="image/png")

    @router.get("/photo")
    def photo(id: str) -> Response:
        it = queue.item(id)
        root = Path(queue.read()["photos"])
        path = root / it["source"]
        if not path.is_file():
            raise HTTPException(404, f"source photo {short(it['source'], 80)} is no longer in {root}")
        try:
            return Response(_photo_jpeg(path, it.get("box", [])), media_type="image/jpeg")
        except Exception as exc:  # noqa: BLE001 - a photo that cannot be shown must not break the page
            raise HTTPException(404, f"cannot show {short(it['source'], 80)}: {exc}") from exc


def add_apply(router: Any, run: Run) -> None:
    """Apply: rerun `prepare` with the settings it last ran with, so the decisions take effect."""
    from fastapi import HTTPException

    @router.post("/api/apply")
    def api_apply() -> dict[str, Any]:
        from .prepare import PrepareOptions, prepare

        try:
            cfg = read_json(run.require(run.data / "config.json", "prepare"))
            fields = PrepareOptions.__dataclass_fields__
            opts = {k: v for k, v in cfg.items() if k in fields}
            summary = prepare(PrepareOptions(**{**opts, "out": str(run.root)}))  # this run, even if it was moved
        except (LookalikeError, OSError, ValueError, TypeError) as exc:  # prepare's own refusals: said, not a crash
            raise HTTPException(409, f"prepare stopped: {exc}") from None
        return {k: summary.get(k) for k in ("kept", "kept_per_person", "pending_review", "split")}


def host_names(host: str) -> list[str]:
    """The Host names the page answers to when listening on `host` ("*ip": any address, for 0.0.0.0)."""
    return [*LOCAL_NAMES, "*ip" if host in ("0.0.0.0", "::", "") else host]


def make_app(run_dir: str | Path, secret: str | None = None, hosts: list[str] | None = None) -> Any:
    """The FastAPI app for one run folder (also used by the tests); it lives under `/<secret>/` only.

    Like the study's admin token, the secret in the URL is what lets a request in: a web page the
    reviewer has open elsewhere cannot guess it, and with `--host 0.0.0.0` nobody on the network
    can either. `app.state.secret` holds it. Requests must also name this machine in Host and,
    when they change something, come from this page (Origin): lookalike.web.
    """
    from fastapi import APIRouter, FastAPI
    from fastapi.responses import JSONResponse, RedirectResponse

    run = Run(run_dir)
    queue = Queue(run)
    secret = secret or secrets.token_urlsafe(16)
    prefix = f"/{secret}"
    app = FastAPI(title="lookalike review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.secret = secret
    app.add_middleware(Guard, check=all_of(same_origin(hosts or list(LOCAL_NAMES)), _knows(prefix)))
    install_error_handlers(app)

    @app.exception_handler(ReviewUnreadable)
    async def unreadable(_: Any, exc: ReviewUnreadable) -> Any:
        return JSONResponse({"detail": short(str(exc), 300)}, status_code=409)

    @app.get(prefix, include_in_schema=False)
    def with_slash() -> RedirectResponse:  # the page's own links are relative to the folder URL
        return RedirectResponse(prefix + "/")

    router = APIRouter()
    add_decisions(router, run, queue, ReviewStore(run.data))
    add_pictures(router, run, queue)
    add_apply(router, run)
    app.include_router(router, prefix=prefix)
    return app


def _knows(prefix: str) -> Check:
    """For `Guard`: only requests under the secret prefix get in (compared in constant time)."""
    want = (prefix + "/").encode()

    def check(scope: dict[str, Any]) -> Refusal:
        path = scope["path"].encode()
        if not (secrets.compare_digest(path[:len(want)], want) or secrets.compare_digest(path, want[:-1])):
            return 404, "not found: open the address `lookalike review` printed (it holds the page's secret)"
        return None

    return check


def serve(run_dir: str | Path, host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True) -> dict:
    """Run the review page until Ctrl-C; returns how many decisions were saved."""
    import uvicorn

    app = make_app(run_dir, hosts=host_names(host))
    if port == 0:  # pick a free port ourselves so the printed address is the real one
        import socket

        with socket.socket() as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    url = f"http://{shown}:{port}/{app.state.secret}/"
    print(f"review page: {url}  (Ctrl-C to stop; decisions are saved as you click; the address holds a secret: "
          "share it only with whoever may change the data set)")
    if open_browser:
        import webbrowser

        threading.Timer(1.0, lambda: webbrowser.open(url)).start()
    uvicorn.run(app, host=host, port=port, log_level="warning")
    state = ReviewStore(Run(run_dir).data).load()
    return {"stage": "review", "decisions": len(state["decisions"]), "file": str(Run(run_dir).data / "review.json")}
