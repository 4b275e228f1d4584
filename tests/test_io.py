"""The one atomic writer: every file goes through it, with the same mode, and secrets owner-only."""

from __future__ import annotations

import ast
import os
import stat
from pathlib import Path

import pytest

from lookalike import io as lio

SRC = Path(lio.__file__).resolve().parent


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def test_files_get_the_umask_mode_and_secrets_are_owner_only(tmp_path):
    plain = lio.atomic_write_json(tmp_path / "a.json", {"x": 1})
    secret = lio.atomic_write_json(tmp_path / "links.json", {"token": "t"}, private=True)
    copied = lio.atomic_copy(plain, tmp_path / "sub" / "b.json")
    assert mode(plain) == mode(copied) == umask_mode()
    assert mode(secret) == 0o600
    assert copied.read_text() == plain.read_text()
    lio.atomic_write_json(secret, {"token": "u"}, private=True)  # rewriting keeps it private
    assert mode(secret) == 0o600 and lio.read_json(secret) == {"token": "u"}
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = lio.atomic_write_text(tmp_path / "x.txt", "old")

    def boom(_fh):
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        lio._atomic(target, boom, private=False)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["x.txt"]


def test_model_weights_go_through_the_atomic_writer(tmp_path):
    """Regression: model.safetensors was written 0600 beside 0644 files because it bypassed io.py."""
    pytest.importorskip("torch")
    from lookalike.models import VGGClassifier, load_model, save_model

    model = VGGClassifier(width=2, dense=8)
    save_model(tmp_path / "m", "classifier", model)
    weights, meta = tmp_path / "m" / "model.safetensors", tmp_path / "m" / "model.json"
    assert mode(weights) == mode(meta) == umask_mode()
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["model.json", "model.safetensors"]
    again = load_model(tmp_path / "m")
    assert all((a == b).all() for a, b in zip(model.state_dict().values(), again.state_dict().values()))


WRITING_CALLS = {"write_text", "write_bytes", "save_file", "copyfile", "copy", "copy2", "move", "rename"}


def _writes_files(node: ast.Call) -> str | None:
    """The name of a call that writes or moves a file itself, instead of through lookalike.io."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
    if name in ("write_text", "write_bytes", "save_file"):
        return name
    if owner == "shutil" and name in WRITING_CALLS or owner == "os" and name in ("replace", "rename"):
        return f"{owner}.{name}"
    if name == "open" and owner in ("", "io", "os"):
        modes = [a for a in node.args[1:2]] + [k.value for k in node.keywords if k.arg == "mode"]
        for m in modes:
            if isinstance(m, ast.Constant) and isinstance(m.value, str) and set(m.value) & set("wax+"):
                return f"open(..., {m.value!r})"
    return None


def test_no_module_writes_files_around_the_atomic_writer():
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path == SRC / "io.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and (what := _writes_files(node)):
                found.append(f"{path.relative_to(SRC)}:{node.lineno} {what}")
    assert not found, "write these through lookalike.io (atomic, one file mode):\n" + "\n".join(found)
