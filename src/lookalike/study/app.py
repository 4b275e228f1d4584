"""The study's web app: plain HTML/JS pages and a small JSON API over the SQLite store.

Nothing a participant's browser receives tells an answer before it is given:
images are served under random per-participant ids, re-encoded without any
metadata, and test pictures are never the named training pictures. Answers
are validated (study/validation.py), not trusted from the page. Who may make a
request (participant link, admin token) is checked before its body is read,
and bodies are size-limited (lookalike/web.py). Writes go to the store's
`GroupCommit`, so the event loop never waits for the disk.
"""

from __future__ import annotations

import io
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from ..contract import TRIALS
from ..face.template import SIZE as IMAGE_SIZE
from ..runfolder import Run
from ..web import Guard, Refusal, Scope, header, install_error_handlers, short
from .design import LINK_GROUPS
from .rules import AGE_BANDS, FAMILIARITY, FAMILIARITY_LABELS
from .setup import hint
from .store import Refused, Store
from .validation import Answer, Training

STATIC = Path(__file__).parent / "static"
NO_STORE = {"Cache-Control": "no-store"}


class Questionnaire(BaseModel):
    model_config = ConfigDict(extra="forbid")
    familiarity_a: Literal[FAMILIARITY]  # type: ignore[valid-type]
    familiarity_b: Literal[FAMILIARITY]  # type: ignore[valid-type]
    age_band: str | None = Field(default=None, max_length=10)
    country: str | None = Field(default=None, max_length=56)


class Join(BaseModel):
    """The recruitment platform's URL parameters, as the public link received them."""

    model_config = ConfigDict(extra="ignore")  # platforms add parameters of their own
    PROLIFIC_PID: str | None = Field(default=None, max_length=64)
    STUDY_ID: str | None = Field(default=None, max_length=64)
    SESSION_ID: str | None = Field(default=None, max_length=64)
    pid: str | None = Field(default=None, max_length=64)


class LinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    group: Literal[LINK_GROUPS]  # type: ignore[valid-type]
    n: int = Field(default=1, ge=1, le=10_000)
    simulated: bool = False  # made by `study simulate`: the analysis and the report say so


def platform_of(join: Join) -> tuple[str | None, str | None]:
    """Which platform sent the participant and its id for them: Prolific's, a generic `pid`, or none."""
    if join.PROLIFIC_PID:
        return "prolific", join.PROLIFIC_PID
    if join.pid:
        return "generic", join.pid
    return None, None


class ImageCache:
    """Stimulus PNGs decoded and re-encoded once: no file name, text chunk or EXIF reaches the browser."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def png(self, path: str) -> bytes:
        with self._lock:
            if path in self._cache:
                return self._cache[path]
        from PIL import Image

        with Image.open(self.data_dir / path) as im:
            im = im.convert("RGB")
            if im.size != (IMAGE_SIZE, IMAGE_SIZE):
                im = im.resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR)
            buf = io.BytesIO()
            im.save(buf, format="PNG")
        with self._lock:
            self._cache[path] = buf.getvalue()
        return self._cache[path]


ADMIN_REFUSED = "admin token missing or wrong (send it as 'Authorization: Bearer TOKEN')"


def admin_token_ok(admin_token: str, authorization: str | None, x_admin_token: str | None) -> bool:
    given = x_admin_token or (authorization or "").removeprefix("Bearer ").strip()
    return bool(given) and secrets.compare_digest(given.encode(), admin_token.encode())


def require_admin(store: Store) -> Callable[..., None]:
    """A dependency that refuses admin requests without the run's admin token."""
    admin_token = store.admin_token()

    def admin(authorization: Annotated[str | None, Header()] = None,
              x_admin_token: Annotated[str | None, Header()] = None) -> None:
        if not admin_token_ok(admin_token, authorization, x_admin_token):
            raise Refused(401, ADMIN_REFUSED)

    return admin


def who_may(store: Store) -> Callable[[Scope], Refusal]:
    """For `Guard`: a participant URL needs a known link and an admin URL the admin token, before any body
    is read. An unknown link costs one indexed lookup; nothing the request sent is parsed."""
    admin_token = store.admin_token()

    def check(scope: Scope) -> Refusal:
        path: str = scope["path"]
        if path.startswith("/api/p/"):
            token = path[len("/api/p/"):].split("/", 1)[0]
            if not store.known(token):
                return 404, "unknown participant link"
        elif path.startswith("/api/admin/"):
            if not admin_token_ok(admin_token, header(scope, b"authorization"), header(scope, b"x-admin-token")):
                return 401, ADMIN_REFUSED
        return None

    return check


def participant_state(run: Run, store: Store, token: str) -> dict[str, Any]:
    """What the study page needs to resume a session: its phase, design, names, hint and remaining pictures."""
    row = store.participant(token)
    phase, design, names = store.phase(row), store.design(), store.names()
    base = f"/api/p/{token}/img/"
    out: dict[str, Any] = {"phase": phase, "names": names,
                           "design": {"train_ms": design.train_ms, "pair_ms": design.pair_ms,
                                      "pairs": design.pairs + design.catch_trials,
                                      "train_per_person": design.train_per_person, "face_px": design.face_px,
                                      "image_px": IMAGE_SIZE}}
    if phase == "questionnaire":
        out["questionnaire"] = {"familiarity": [{"value": v, "label": FAMILIARITY_LABELS[v]} for v in FAMILIARITY],
                                "age_bands": list(AGE_BANDS)}
    if phase == "done":
        recruitment = store.recruitment()
        out["completion"] = {"code": recruitment.completion_code, "redirect": recruitment.redirect()}
    if shows_hint(row):
        text, picture = hint(run)
        out["hint"] = {"text": text, "picture": f"/api/p/{token}/hint.png" if picture else None}
    if phase in ("consent", "questionnaire", "hint", "training"):
        out["training"] = [{"img": base + t["img_id"], "name": names[t["label"]]}
                           for t in store.training_plan(row["id"])]
    if phase == "test":
        plan = store.test_plan(row["id"])
        out["next_trial"] = sum(t["answer"] is not None for t in plan)
        out["test"] = [{"trial": t["trial"], "a": base + t["img_a"], "b": base + t["img_b"]}
                       for t in plan if t["answer"] is None]
    return out


def shows_hint(row: Any) -> bool:
    """Only the hint group sees the hint, and only once the questions have said who they are."""
    return row["grp"] == "post" and row["questionnaire_at"] is not None


def add_pages(app: FastAPI, store: Store) -> None:
    """The two HTML pages: the home page and a participant's study page."""

    @app.get("/", response_class=HTMLResponse)
    def home() -> HTMLResponse:
        return HTMLResponse((STATIC / "home.html").read_text(encoding="utf-8"), headers=NO_STORE)

    @app.get("/p/{token}", response_class=HTMLResponse)
    def page(token: str) -> HTMLResponse:
        try:
            store.participant(token)
        except Refused:
            text = (STATIC / "home.html").read_text(encoding="utf-8").replace(
                "Please open the personal link you were given.",
                "This link is not known here. Please check that you copied the whole link you were given.")
            return HTMLResponse(text, status_code=404, headers=NO_STORE)
        return HTMLResponse((STATIC / "study.html").read_text(encoding="utf-8"), headers=NO_STORE)

    @app.get("/join", response_class=HTMLResponse)
    def join_page(request: Request) -> Response:
        """The one public link: a returning platform id resumes its session; anyone else gets the page that enrols."""
        join = Join(**{k: v[:64] for k, v in request.query_params.items()})
        platform, platform_pid = platform_of(join)
        if platform_pid is not None:
            rows = store.query("SELECT token FROM participants WHERE platform = ? AND platform_pid = ?",
                               (platform, platform_pid))
            if rows:
                return RedirectResponse(f"/p/{rows[0]['token']}", status_code=303, headers=NO_STORE)
        return HTMLResponse((STATIC / "study.html").read_text(encoding="utf-8"), headers=NO_STORE)

    @app.post("/api/join")
    async def join(body: Join) -> JSONResponse:
        platform, platform_pid = platform_of(body)
        token, resumed = store.enrol(platform, platform_pid, body.STUDY_ID, body.SESSION_ID)
        return JSONResponse({"token": token, "path": f"/p/{token}", "resumed": resumed}, headers=NO_STORE)

    @app.get("/api/health")
    async def health() -> dict[str, Any]:
        return {"ok": True}


def add_session_steps(app: FastAPI, run: Run, store: Store) -> None:
    """The participant's steps: state, consent, hint, training, answers."""

    commits = store.commits()

    @app.get("/api/p/{token}/state")
    async def state(token: str) -> JSONResponse:
        return JSONResponse(participant_state(run, store, token), headers=NO_STORE)

    @app.post("/api/p/{token}/consent")
    async def consent(token: str) -> dict[str, Any]:
        return {"phase": await commits.run(store.mark_op, token, "consent", "consent")}

    @app.post("/api/p/{token}/questionnaire")
    async def questionnaire(token: str, body: Questionnaire) -> dict[str, Any]:
        await commits.run(store.questionnaire_op, token, body.familiarity_a, body.familiarity_b, body.age_band,
                          body.country)
        return {"phase": store.phase(store.participant(token))}

    @app.post("/api/p/{token}/hint")
    async def hint_seen(token: str) -> dict[str, Any]:
        if store.participant(token)["grp"] != "post":
            raise Refused(409, "only the post group is shown the hint")
        return {"phase": await commits.run(store.mark_op, token, "hint", "hint")}

    @app.post("/api/p/{token}/training")
    async def training(token: str, body: Training) -> dict[str, Any]:
        display = body.model_dump(exclude={"shown_ms"}, exclude_none=True)
        return {"phase": await commits.run(store.finish_training_op, token, body.shown_ms, display)}

    @app.post("/api/p/{token}/answer")
    async def answer(token: str, body: Answer) -> JSONResponse:
        result = await commits.run(store.answer_op, token, body.trial, body.answer, body.response_ms,
                                   body.shown_ms, body.frame_ms)
        return JSONResponse(result, headers=NO_STORE)


def add_pictures(app: FastAPI, run: Run, store: Store) -> None:
    """The pictures a participant sees: stimuli under random ids, and the hint picture for the post group."""
    images = ImageCache(run.data)

    @app.get("/api/p/{token}/hint.png")
    def hint_picture(token: str) -> FileResponse:
        if not shows_hint(store.participant(token)):
            raise Refused(404, "no hint for this link")
        picture = hint(run)[1]
        if picture is None:
            raise Refused(404, "this run has no hint picture")
        return FileResponse(picture, media_type="image/png")

    @app.get("/api/p/{token}/img/{img_id}")
    def image(token: str, img_id: str) -> Response:
        png = images.png(store.image_path(token, img_id))
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=86400"})


def add_admin(app: FastAPI, store: Store) -> None:
    """The admin API (progress, export, links, truth), each behind the admin token."""
    admin = [Depends(require_admin(store))]

    @app.get("/api/admin/progress", dependencies=admin)
    async def progress() -> dict[str, Any]:
        return {"groups": store.progress()}

    @app.get("/api/admin/export", dependencies=admin)
    def export() -> PlainTextResponse:
        return PlainTextResponse(TRIALS.text(store.trial_rows()), media_type="text/csv", headers=NO_STORE)

    @app.post("/api/admin/links", dependencies=admin)
    def links(body: LinkRequest) -> dict[str, Any]:
        tokens = store.create_links(body.group, body.n, simulated=body.simulated)
        return {"group": body.group, "links": [f"/p/{t}" for t in tokens], "tokens": tokens}

    @app.get("/api/admin/truth/{token}", dependencies=admin)
    async def truth(token: str) -> dict[str, Any]:
        row = store.participant(token)
        plan = store.test_plan(row["id"])
        return {"truth": [t["truth"] for t in plan], "catch": [bool(t["catch"]) for t in plan]}


def create_app(run: Run, store: Store) -> FastAPI:
    """The whole study server for one run; `store` is the run's opened study database.

    The small JSON endpoints are `async`: their reads are a few SQLite statements (well
    under a millisecond in WAL mode), and their writes are awaited from the group commit.
    Image encoding and the export stay synchronous and run in the pool.
    """
    app = FastAPI(title="lookalike study", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(Guard, check=who_may(store))
    install_error_handlers(app)

    @app.exception_handler(Refused)
    async def refused(_: Request, exc: Refused) -> JSONResponse:
        return JSONResponse({"detail": short(str(exc), 300)}, status_code=exc.status, headers=NO_STORE)

    add_pages(app, store)
    add_session_steps(app, run, store)
    add_pictures(app, run, store)
    add_admin(app, store)
    return app
