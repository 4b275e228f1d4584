"""`torchrun --nproc_per_node=2 -m lookalike train ...`: two CPU processes with gloo, same command."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lookalike.fakerun import make_fake_run


@pytest.mark.slow
@pytest.mark.parametrize("model", ["classifier", "siamese"])  # siamese: its identity probe is averaged too
def test_two_process_ddp_run_on_cpu(tmp_path, model):
    run = make_fake_run(tmp_path / "run", 40, faces="cheeks", seed=1)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "LOOKALIKE_QUIET": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "lookalike", "train", str(run.root), "--model", model, "--preset", "tiny",
           "--epochs", "2", "--set", "batch_size=16", "--set", "val_pairs=40", "--set", "test_pairs=40",
           "--set", "stop_when_perfect=false",
           "--device", "cpu", "--json"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    out = run.model(model)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["epochs"] == 2
    assert json.loads((out / "config.json").read_text())["world_size"] == 2
    records = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["epoch"] for r in records] == [1, 2]  # only rank 0 wrote
    assert json.loads(records[0])["images_per_s"] > 0
    if model == "siamese":  # the warm-up ran in both processes, and its probe's accuracy was gathered
        assert 0 <= json.loads(records[0])["identity_accuracy"] <= 1
    assert (out / "model.safetensors").is_file() and (out / "checkpoint.pt").is_file()
