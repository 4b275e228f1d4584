"""`lookalike study serve|links|preregister|export|simulate|analyze`: the human study of paper §6."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

from ..runfolder import Run
from .analysis import add_analyze_arguments, run_analyze

DESCRIPTION = """\
The human study (paper §6): participants learn the two faces from 20 named photos of each, then
say for 20 briefly shown pairs whether both photos show the same person. Groups: pre (novices),
post (novices shown the hint from `lookalike regions`), expert (people who know both faces).
Who is a novice or an expert follows from a short questionnaire (see study/rules.py); one public
link (/join, with Prolific's or a generic participant id) enrols and balances participants.
Typical order: preregister, serve, export, analyze.
Answers live in RUN/study/study.sqlite; `study export` writes RUN/study/trials.csv."""


def settings_parser() -> argparse.ArgumentParser:
    """Options that change the study's declared settings (kept in the database; every change is logged)."""
    from .rules import FAMILIARITY

    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("study settings (kept in RUN/study/study.sqlite; omitted = unchanged)")
    g.add_argument("--novice-max", choices=FAMILIARITY, default=None,
                   help="a novice knows each person at most this well (default never: the paper's 'not familiar')")
    g.add_argument("--expert-min", choices=FAMILIARITY, default=None,
                   help="an expert knows both people at least this well (default well)")
    g.add_argument("--catch-errors-allowed", type=int, default=None, metavar="K",
                   help="catch trials a participant may get wrong before exclusion (default 0)")
    g.add_argument("--completion-url", default=None, metavar="URL",
                   help="where a finished participant is sent; {code} is replaced by the completion code "
                        "(Prolific: https://app.prolific.com/submissions/complete?cc={code})")
    g.add_argument("--completion-code", default=None, metavar="CODE",
                   help="the code participants get at the end (default: one made for the study)")
    g.add_argument("--max-participants", type=int, default=None, metavar="N",
                   help="the public link enrols at most N participants (default 1000)")
    return p


def apply_settings(store: Any, args: argparse.Namespace) -> dict[str, Any]:
    from .rules import RuleError

    rules = {k: getattr(args, k) for k in ("novice_max", "expert_min", "catch_errors_allowed")
             if getattr(args, k, None) is not None}
    recruitment = {k: getattr(args, k) for k in ("completion_url", "completion_code", "max_participants")
                   if getattr(args, k, None) is not None}
    try:
        return store.update_settings(rules, recruitment)
    except RuleError as exc:
        raise SystemExit(str(exc)) from None


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    study = subparsers.add_parser("study", parents=[common], help="run the human study (web app) and analyse it",
                                  description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = study.add_subparsers(dest="study_command", metavar="STEP", required=True)

    settings = settings_parser()
    p = sub.add_parser("serve", parents=[common, settings], help="start the study web server and print its links",
                       description="Start the study web server on RUN. Prints the public study link (/join: give it "
                                   "to a recruitment platform), a link per participant for each group and the admin "
                                   "token (for /api/admin/progress and /api/admin/export). Stop with Ctrl-C: the "
                                   "answers are exported to RUN/study/trials.csv on the way out.")
    p.add_argument("run", metavar="RUN", help="run folder with data/ (its test split gives the photos)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on; 0.0.0.0 for other machines "
                                                       "(default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.add_argument("--participants-per-group", type=int, default=15, metavar="N",
                   help="make sure each group has at least N personal links (default 15, as in the paper; 0 "
                        "when everyone comes through the public link)")
    p.add_argument("--base-url", default=None, help="address participants use, for the printed links "
                                                    "(default http://HOST:PORT)")
    p.set_defaults(func=serve)

    p = sub.add_parser("links", parents=[common], help="make more participant links",
                       description="Make N more participant links of one group; `random` links assign pre or "
                                   "post on first use, keeping the two balanced. Works while the server runs.")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--group", required=True, choices=["pre", "post", "expert", "random"],
                   help="pre/post: novices without/with the hint; expert: people who know both faces; "
                        "random: pre or post, drawn when the link is first opened")
    p.add_argument("--n", type=int, default=1, help="how many links (default 1)")
    p.add_argument("--base-url", default="http://127.0.0.1:8000", help="server address for the printed links")
    p.set_defaults(func=links)

    p = sub.add_parser("preregister", parents=[common, settings],
                       help="write the plan before data: RUN/study/preregistration.md and .json",
                       description="Write RUN/study/preregistration.json and .md before any data: hypotheses (the "
                                   "hint group beats pre-test novices), design, the familiarity and exclusion rules, "
                                   "the sample size per group from a power analysis, the planned analysis, and the "
                                   "SHA-256 of the JSON (also recorded in the study database). `study analyze` "
                                   "lists every deviation from it.")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--effect-size", type=float, default=None, metavar="D",
                   help="expected Cohen's d of the hint (default: the paper's +11 points over an SD of 0.15)")
    p.add_argument("--force", action="store_true",
                   help="write it although data exist or a preregistration is there (listed as a deviation)")
    p.add_argument("--trials", type=int, default=20, help="pairs per participant in the analysis (default 20)")
    p.add_argument("--bootstrap", type=int, default=10_000, help="planned bootstrap resamples (default 10000)")
    p.add_argument("--permutations", type=int, default=20_000, help="planned permutations (default 20000)")
    p.set_defaults(func=preregister)

    p = sub.add_parser("export", parents=[common], help="write RUN/study/trials.csv, sessions.csv, psychds/",
                       description="Write one row per answered trial to RUN/study/trials.csv (participant, group, "
                                   "complete, trial, image_a, image_b, truth, answer, correct, response_ms, "
                                   "shown_ms, catch, frame_ms), the training display times to training.csv, one "
                                   "row per participant to sessions.csv (platform ids, questionnaire, display, "
                                   "duration), the same data without platform ids as a Psych-DS dataset in "
                                   "RUN/study/psychds/ (checked against the Psych-DS rules), and summary.json. "
                                   "Safe while the server runs.")
    p.add_argument("run", metavar="RUN")
    p.set_defaults(func=export)

    p = sub.add_parser("simulate", parents=[common], help="simulated participants through the real HTTP API",
                       description="Make N links of GROUP and play them with code that answers correctly with "
                                   "probability P, over HTTP. Without --url a server is started in-process on a "
                                   "free loopback port. Exports trials.csv at the end.")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--group", required=True, choices=["pre", "post", "expert", "random"],
                   help="the group the simulated participants belong to")
    p.add_argument("--n", type=int, required=True, help="number of simulated participants")
    p.add_argument("--accuracy", type=float, required=True, metavar="P", help="chance of a correct answer (0..1)")
    p.add_argument("--url", default=None, help="a running `study serve` of the same RUN (default: start one)")
    p.add_argument("--admin-token", default=None, help="admin token of --url (default: read from RUN)")
    p.add_argument("--concurrency", type=int, default=None, help="participants at once (default all)")
    p.add_argument("--fetch-images", action="store_true", help="also download every photo, as a browser would")
    p.add_argument("--duplicate-rate", type=float, default=0.1,
                   help="share of answers sent twice, as a flaky network would (default 0.1)")
    p.set_defaults(func=simulate)

    p = sub.add_parser("analyze", parents=[common], help="accuracy per group (equation 1), Figure 9, tests",
                       description="Analyse RUN/study/trials.csv: accuracy per group by equation (1), the Figure-9 "
                                   "histograms, intervals, tests and d′.")
    add_analyze_arguments(p)
    p.set_defaults(func=run_analyze)

    p = sub.add_parser("screens", parents=[common], help="photograph the study's screens in Chromium (Figure 8)",
                       description="Click one pre-test participant through a scratch copy of the study in headless "
                                   "Chromium (Playwright) and save the training, test and answer screens to "
                                   "RUN/study/screens/ for the report's Figure 8. The run's own study database "
                                   "is not touched. Needs Debian's chromium (or LOOKALIKE_CHROMIUM) and playwright.")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--if-available", action="store_true",
                   help="without Chromium or playwright, note why in screens.json and exit 0 (the demo uses this)")
    p.set_defaults(func=screens)


def _open(args: argparse.Namespace) -> tuple[Run, Any]:
    from .setup import open_study

    run = Run(args.run)
    run.require(run.data, "prepare")
    return run, open_study(run, seed=args.seed)


def _write_links(run: Run, store: Any, base_url: str) -> None:
    """links.json: every participant's link, so owner-only (anyone with a link can answer as that person)."""
    from ..io import atomic_write_json

    atomic_write_json(run.study / "links.json", {"base_url": base_url, "links": [
        {k: v for k, v in link.items() if k != "path"} | {"url": base_url + link["path"]} for link in store.links()]},
        private=True)


def serve(args: argparse.Namespace) -> dict[str, Any]:
    from .app import create_app
    from .design import GROUPS
    from .export import export_study
    from .preregister import json_path
    from .server import free_socket, make_server

    run, store = _open(args)
    settings = apply_settings(store, args)
    for group in GROUPS:
        have = sum(link["link_group"] == group for link in store.links())
        if have < args.participants_per_group:
            store.create_links(group, args.participants_per_group - have)
    sock = free_socket(args.host, args.port)
    port = sock.getsockname()[1]
    base = (args.base_url or f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '') else args.host}:{port}").rstrip("/")
    _write_links(run, store, base)
    out = sys.stderr if args.json else sys.stdout
    for group in (*GROUPS, "random"):
        rows = [link for link in store.links() if link["link_group"] == group]
        if rows:
            print(f"\n{group} ({sum(r['complete'] for r in rows)}/{len(rows)} complete):", file=out)
            for link in rows:
                state = "done" if link["complete"] else (f"{link['answered']} answers" if link["started"] else "new")
                print(f"  {base}{link['path']}   [{link['participant']}, {state}]", file=out)
    recruitment = settings["recruitment"]
    print(f"\npublic study link (one for everyone; give it to your recruitment platform):\n  {base}/join\n"
          f"  Prolific: {base}/join?PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}&STUDY_ID={{{{%STUDY_ID%}}}}"
          f"&SESSION_ID={{{{%SESSION_ID%}}}}\n  others: {base}/join?pid=PARTICIPANT_ID\n"
          f"  completion code {recruitment['completion_code']}; "
          + (f"finished participants go to {recruitment['completion_url']}" if recruitment["completion_url"]
             else "shown at the end (set --completion-url to send participants back)"), file=out)
    if not json_path(run).exists():
        print(f"note: not preregistered; `lookalike study preregister {run.root}` writes the plan before data",
              file=out)
    print(f"\nadmin token: {store.admin_token()}\n  progress: curl -H 'Authorization: Bearer TOKEN' "
          f"{base}/api/admin/progress\nlinks are also in {run.study / 'links.json'}; stop with Ctrl-C", file=out)
    if not (run.regions / "hint.txt").exists():
        print("\nnote: regions/hint.txt is missing (run `lookalike regions` first); the post group gets the "
              "paper's hint instead: forehead and cheekbones", file=out)
    out.flush()

    def stop_on_term(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_term)  # `kill` stops as cleanly as Ctrl-C (uvicorn re-raises it)
    try:
        make_server(create_app(run, store), log_level="info").run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after its clean shutdown: export, then finish
        pass
    summary = export_study(run, store)
    store.close()
    return summary


def preregister(args: argparse.Namespace) -> dict[str, Any]:
    from .preregister import PreregistrationError
    from .preregister import preregister as write_plan

    run, store = _open(args)
    try:
        apply_settings(store, args)
        result = write_plan(run, store, effect_size=args.effect_size, trials=args.trials, n_boot=args.bootstrap,
                            n_permutations=args.permutations, seed=args.seed, force=args.force)
    except PreregistrationError as exc:
        raise SystemExit(str(exc)) from None
    finally:
        store.close()
    if not args.json:
        n = result["sample_size"]
        print(f"preregistered: {result['markdown']} (SHA-256 of the JSON {result['sha256'][:16]}…); plan "
              f"{n['pre']} pre, {n['post']} post, {n['expert']} expert participants")
    return result


def links(args: argparse.Namespace) -> dict[str, Any]:
    run, store = _open(args)
    tokens = store.create_links(args.group, args.n)
    base = args.base_url.rstrip("/")
    _write_links(run, store, base)
    urls = [f"{base}/p/{t}" for t in tokens]
    if not args.json:
        print("\n".join(urls))
    store.close()
    return {"group": args.group, "links": urls}


def export(args: argparse.Namespace) -> dict[str, Any]:
    from .export import export_study
    from .setup import db_path

    run = Run(args.run)
    run.require(db_path(run), "study serve")
    run, store = _open(args)
    summary = export_study(run, store)
    store.close()
    if not args.json:
        print(f"{summary['answers']} answers of {summary['participants']} participants "
              f"({summary['complete']} complete) -> {run.study / 'trials.csv'}")
    return summary


def simulate(args: argparse.Namespace) -> dict[str, Any]:
    from .export import export_study
    from .simulate import simulate as play

    if args.n < 1:
        raise SystemExit("--n must be at least 1")
    if not 0.0 <= args.accuracy <= 1.0:
        raise SystemExit(f"--accuracy must be a probability between 0 and 1, not {args.accuracy}")
    if not 0.0 <= args.duplicate_rate <= 1.0:
        raise SystemExit(f"--duplicate-rate must be between 0 and 1, not {args.duplicate_rate}")
    run, store = _open(args)
    options = {"seed": args.seed, "concurrency": args.concurrency, "fetch_images": args.fetch_images,
               "duplicate_rate": args.duplicate_rate}
    token = args.admin_token or store.admin_token()
    if args.url:
        result = play(args.url.rstrip("/"), token, args.group, args.n, args.accuracy, **options)
    else:
        from .app import create_app
        from .server import background_server

        with background_server(create_app(run, store)) as url:
            result = play(url, token, args.group, args.n, args.accuracy, **options)
    export_study(run, store)
    store.close()
    result.pop("sessions")
    if result["n_errors"]:
        print(f"{result['n_errors']} simulated participants failed, e.g. {result['errors'][0]}", file=sys.stderr)
    elif not args.json:
        print(f"{result['completed']} simulated {args.group} participants, {result['answers_sent']} answers "
              f"(accuracy {result['accuracy_simulated']}), {result['seconds']} s -> {run.study / 'trials.csv'}")
    return result


def screens(args: argparse.Namespace) -> dict[str, Any]:
    from .screens import ScreensUnavailable, capture_screens, note_unavailable, screens_folder

    try:
        record = capture_screens(args.run)
    except ScreensUnavailable as exc:
        if not args.if_available:
            raise
        print(f"study screens skipped: {exc}", file=sys.stderr)
        return note_unavailable(args.run, str(exc))
    if not args.json:
        print(f"study screens ({', '.join(record['screens'])}) in {screens_folder(Run(args.run))}", file=sys.stderr)
    return record
