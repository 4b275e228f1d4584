"""`lookalike study serve|links|preregister|export|simulate|analyze`: the human study of paper §6."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..runfolder import Run
from .study_analysis import add_analyze_arguments, run_analyze

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
    from ..study.rules import FAMILIARITY

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


SETTINGS = ("novice_max", "expert_min", "catch_errors_allowed", "completion_url", "completion_code",
            "max_participants")


def study_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The study settings given on the command line (the others stay as the database has them)."""
    return {k: getattr(args, k) for k in SETTINGS if getattr(args, k, None) is not None}


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


def serve(args: argparse.Namespace) -> Any:
    from .. import api

    return api.study_serve(args.run, seed=args.seed, device=args.device, host=args.host, port=args.port,
                           participants_per_group=args.participants_per_group, base_url=args.base_url,
                           out=sys.stderr if args.json else sys.stdout, **study_settings(args))


def preregister(args: argparse.Namespace) -> Any:
    from .. import api

    result = api.study_preregister(args.run, seed=args.seed, device=args.device, effect_size=args.effect_size,
                                   force=args.force, trials=args.trials, bootstrap=args.bootstrap,
                                   permutations=args.permutations, **study_settings(args))
    if not args.json:
        n = result["sample_size"]
        print(f"preregistered: {result['markdown']} (SHA-256 of the JSON {result['sha256'][:16]}…); plan "
              f"{n['pre']} pre, {n['post']} post, {n['expert']} expert participants")
    return result


def links(args: argparse.Namespace) -> Any:
    from .. import api

    result = api.study_links(args.run, seed=args.seed, device=args.device, group=args.group, n=args.n,
                             base_url=args.base_url)
    if not args.json:
        print("\n".join(result.links))
    return result


def export(args: argparse.Namespace) -> Any:
    from .. import api

    summary = api.study_export(args.run, seed=args.seed, device=args.device)
    if not args.json:
        print(f"{summary.answers} answers of {summary.participants} participants ({summary.complete} complete) "
              f"-> {Run(args.run).study / 'trials.csv'}")
    return summary


def simulate(args: argparse.Namespace) -> Any:
    from .. import api

    result = api.study_simulate(args.run, seed=args.seed, device=args.device, group=args.group, n=args.n,
                                accuracy=args.accuracy, url=args.url, admin_token=args.admin_token,
                                concurrency=args.concurrency, fetch_images=args.fetch_images,
                                duplicate_rate=args.duplicate_rate)
    if result.n_errors:
        print(f"{result.n_errors} simulated participants failed, e.g. {result.errors[0]}", file=sys.stderr)
    elif not args.json:
        print(f"{result.completed} simulated {args.group} participants, {result.answers_sent} answers "
              f"(accuracy {result.accuracy_simulated}), {result.seconds} s -> {Run(args.run).study / 'trials.csv'}")
    return result


def screens(args: argparse.Namespace) -> Any:
    from .. import api

    record = api.study_screens(args.run, seed=args.seed, device=args.device, if_available=args.if_available)
    if record.unavailable:
        print(f"study screens skipped: {record.unavailable}", file=sys.stderr)
    elif not args.json:
        print(f"study screens ({', '.join(record.screens)}) in {Run(args.run).study / 'screens'}", file=sys.stderr)
    return record
