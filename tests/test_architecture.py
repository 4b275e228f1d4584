"""The layout docs/architecture.md describes: what each package may import, no import cycle, small functions."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "lookalike"
DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def _package(module: str) -> str:
    """`lookalike.fooling.stage` → `fooling`; `lookalike` itself → ``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _targets(node: ast.AST, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if not node.level:
        return [node.module or ""]
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    if node.module:
        return [".".join([*base, node.module])]
    return [".".join([*base, a.name]) for a in node.names]


def import_graph() -> dict[str, set[str]]:
    """Package → the packages it imports, from every import statement (also those inside functions)."""
    edges: dict[str, set[str]] = defaultdict(set)
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_package else parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for target in _targets(node, module, is_package):
                if target.split(".")[0] == "lookalike":
                    a, b = _package(module), _package(target)
                    if b in ("", "__version__") or a == b:
                        continue
                    edges[a].add(b)
    return edges


def allowed() -> dict[str, set[str]]:
    """The "may import" column of docs/architecture.md."""
    out = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| `(\w+)` \| [^|]* \| ([^|]*) \|$", line)
        if m:
            out[m.group(1)] = {p.strip() for p in m.group(2).split(",") if p.strip() not in ("", "–")}
    return out


def test_every_package_imports_only_what_the_architecture_allows():
    table, graph = allowed(), import_graph()
    packages = {p.stem if p.is_file() else p.name for p in SRC.iterdir()
                if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}
    assert packages == set(table), f"packages missing from docs/architecture.md: {packages ^ set(table)}"
    wrong = {a: sorted(b - table[a]) for a, b in graph.items() if b - table[a]}
    assert not wrong, f"imports docs/architecture.md does not allow: {wrong}"


def test_no_import_cycle_between_packages():
    graph = import_graph()
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, path: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle.extend([*path[path.index(nxt):], nxt] if nxt in path else [node, nxt])
                return True
            if nxt not in state and visit(nxt, [*path, nxt]):
                return True
        state[node] = 2
        return False

    for start in sorted(graph):
        if start not in state and visit(start, [start]):
            break
    assert not cycle, " -> ".join(cycle)


def test_the_cycle_check_finds_a_cycle(monkeypatch):
    """The check above can fail: a made-up edge back from `contract` to a stage is a cycle."""
    real = import_graph()
    fake = {**real, "contract": real.get("contract", set()) | {"fooling"}}
    monkeypatch.setattr(__import__(__name__), "import_graph", lambda: fake)
    try:
        test_no_import_cycle_between_packages()
    except AssertionError as exc:
        assert "contract" in str(exc) and "fooling" in str(exc)
    else:
        raise AssertionError("a cycle went unnoticed")


def test_library_code_raises_lookalike_errors_not_system_exit():
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.parent.name == "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and node.exc is not None:
                call = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if isinstance(call, ast.Name) and call.id == "SystemExit":
                    offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not offenders, offenders
