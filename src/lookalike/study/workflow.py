"""The study's steps as functions: make links, serve, export, simulate participants (`lookalike study …`)."""

from __future__ import annotations

import signal
import sys
from typing import Any, TextIO

from ..contract import LINKS, StudySummary
from ..errors import SettingError
from ..runfolder import Run
from .design import GROUPS, LINK_GROUPS
from .store import Store


def open_run(run: Run, seed: int = 0) -> Store:
    """The run's study database, created (stimuli chosen with `seed`) on first use."""
    from .setup import open_study

    run.require(run.data, "prepare")
    return open_study(run, seed=seed)


def write_links(run: Run, store: Store, base_url: str) -> None:
    """study/links.json: every participant link with its full address, so owner-only (anyone with a link can
    answer as that person)."""
    LINKS.write(run, {"base_url": base_url, "links": [
        {k: v for k, v in link.items() if k != "path"} | {"url": base_url + link["path"]} for link in store.links()]})


def make_links(run: Run, group: str, n: int = 1, base_url: str = "http://127.0.0.1:8000",
               seed: int = 0) -> dict[str, Any]:
    """`n` more links of `group` (works while the server runs); returns their addresses."""
    if group not in LINK_GROUPS:
        raise SettingError(f"--group must be one of {', '.join(LINK_GROUPS)}, not {group!r}")
    store = open_run(run, seed)
    try:
        tokens = store.create_links(group, n)
        base = base_url.rstrip("/")
        write_links(run, store, base)
    finally:
        store.close()
    return {"group": group, "links": [f"{base}/p/{t}" for t in tokens]}


def export(run: Run, seed: int = 0) -> StudySummary:
    """study/trials.csv, training.csv and summary.json from the database (safe while serving)."""
    from .export import export_study
    from .setup import db_path

    run.require(db_path(run), "study serve")
    store = open_run(run, seed)
    try:
        return export_study(run, store)
    finally:
        store.close()


def _top_up(store: Store, per_group: int) -> None:
    for group in GROUPS:
        have = sum(link["link_group"] == group for link in store.links())
        if have < per_group:
            store.create_links(group, per_group - have)


SETTINGS = {"rules": ("novice_max", "expert_min", "catch_errors_allowed"),
            "recruitment": ("completion_url", "completion_code", "max_participants")}


def apply_settings(store: Store, settings: dict[str, Any]) -> dict[str, Any]:
    """Change the study's declared settings (`SETTINGS`; kept in the database, every change logged)."""
    from .rules import RuleError

    unknown = set(settings) - {k for keys in SETTINGS.values() for k in keys}
    if unknown:
        raise SettingError(f"unknown study setting(s) {', '.join(sorted(unknown))}")
    parts = {part: {k: v for k, v in settings.items() if k in keys and v is not None}
             for part, keys in SETTINGS.items()}
    try:
        return store.update_settings(parts["rules"], parts["recruitment"])
    except RuleError as exc:
        raise SettingError(str(exc)) from None


def print_public_link(run: Run, base: str, recruitment: dict[str, Any], out: TextIO) -> None:
    """The one link for everyone (recruitment platforms), and whether the study is preregistered."""
    from .preregister import json_path

    print(f"\npublic study link (one for everyone; give it to your recruitment platform):\n  {base}/join\n"
          f"  Prolific: {base}/join?PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}&STUDY_ID={{{{%STUDY_ID%}}}}"
          f"&SESSION_ID={{{{%SESSION_ID%}}}}\n  others: {base}/join?pid=PARTICIPANT_ID\n"
          f"  completion code {recruitment['completion_code']}; "
          + (f"finished participants go to {recruitment['completion_url']}" if recruitment["completion_url"]
             else "shown at the end (set --completion-url to send participants back)"), file=out)
    if not json_path(run).exists():
        print(f"note: not preregistered; `lookalike study preregister {run.root}` writes the plan before data",
              file=out)


def print_links(run: Run, store: Store, base: str, recruitment: dict[str, Any], out: TextIO) -> None:
    """Every link by group with its state, the public link, the admin token, and a note when there is no hint."""
    for group in (*GROUPS, "random"):
        rows = [link for link in store.links() if link["link_group"] == group]
        if rows:
            print(f"\n{group} ({sum(r['complete'] for r in rows)}/{len(rows)} complete):", file=out)
            for link in rows:
                state = "done" if link["complete"] else (f"{link['answered']} answers" if link["started"] else "new")
                print(f"  {base}{link['path']}   [{link['participant']}, {state}]", file=out)
    print_public_link(run, base, recruitment, out)
    print(f"\nadmin token: {store.admin_token()}\n  progress: curl -H 'Authorization: Bearer TOKEN' "
          f"{base}/api/admin/progress\nlinks are also in {LINKS.path(run)}; stop with Ctrl-C", file=out)
    if not (run.regions / "hint.txt").exists():
        print("\nnote: regions/hint.txt is missing (run `lookalike regions` first); the post group gets the "
              "paper's hint instead: forehead and cheekbones", file=out)
    out.flush()


def serve(run: Run, host: str = "127.0.0.1", port: int = 8000, participants_per_group: int = 15,
          base_url: str | None = None, seed: int = 0, out: TextIO | None = None,
          settings: dict[str, Any] | None = None) -> StudySummary:
    """Serve the study until Ctrl-C or SIGTERM, then export the answers; returns the export's summary.

    `settings`: study settings to change first (see `SETTINGS`)."""
    from .app import create_app
    from .export import export_study
    from .server import free_socket, make_server

    store = open_run(run, seed)
    recruitment = apply_settings(store, settings or {})["recruitment"]
    _top_up(store, participants_per_group)
    sock = free_socket(host, port)
    base = (base_url or f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{sock.getsockname()[1]}")
    base = base.rstrip("/")
    write_links(run, store, base)
    print_links(run, store, base, recruitment, out or sys.stdout)

    def stop_on_term(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_term)  # `kill` stops as cleanly as Ctrl-C (uvicorn re-raises it)
    try:
        make_server(create_app(run, store), log_level="info").run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after its clean shutdown: export, then finish
        pass
    try:
        return export_study(run, store)
    finally:
        store.close()


def preregister(run: Run, effect_size: float | None = None, trials: int = 20, n_boot: int = 10_000,
                n_permutations: int = 20_000, seed: int = 0, force: bool = False,
                settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """study/preregistration.json and .md, written before any data (after changing `settings`)."""
    from .preregister import PreregistrationError
    from .preregister import preregister as write_plan

    store = open_run(run, seed)
    try:
        apply_settings(store, settings or {})
        return write_plan(run, store, effect_size=effect_size, trials=trials, n_boot=n_boot,
                          n_permutations=n_permutations, seed=seed, force=force)
    except PreregistrationError as exc:
        raise SettingError(str(exc)) from None
    finally:
        store.close()


def check_simulation(n: int, accuracy: float, duplicate_rate: float) -> None:
    if n < 1:
        raise SettingError("--n must be at least 1")
    if not 0.0 <= accuracy <= 1.0:
        raise SettingError(f"--accuracy must be a probability between 0 and 1, not {accuracy}")
    if not 0.0 <= duplicate_rate <= 1.0:
        raise SettingError(f"--duplicate-rate must be between 0 and 1, not {duplicate_rate}")


def simulate(run: Run, group: str, n: int, accuracy: float, url: str | None = None, admin_token: str | None = None,
             concurrency: int | None = None, fetch_images: bool = False, duplicate_rate: float = 0.1,
             seed: int = 0) -> dict[str, Any]:
    """`n` simulated participants of `group` through the real HTTP API (a server of its own unless `url`)."""
    from .export import export_study
    from .simulate import simulate as play

    check_simulation(n, accuracy, duplicate_rate)
    store = open_run(run, seed)
    options = {"seed": seed, "concurrency": concurrency, "fetch_images": fetch_images,
               "duplicate_rate": duplicate_rate}
    token = admin_token or store.admin_token()
    try:
        if url:
            result = play(url.rstrip("/"), token, group, n, accuracy, **options)
        else:
            from .app import create_app
            from .server import background_server

            with background_server(create_app(run, store)) as local:
                result = play(local, token, group, n, accuracy, **options)
        export_study(run, store)
    finally:
        store.close()
    result.pop("sessions")
    return result
