"""Planted-region recovery: how much of a map falls on the known synthetic difference."""

from __future__ import annotations

import numpy as np
import pytest

from lookalike.contract import MapFile, save_maps
from lookalike.regions.truth import planted_enrichment, recovery_table
from lookalike.runfolder import Run


def _masks(n: int) -> np.ndarray:
    m = np.zeros((n, 128, 128), bool)
    m[:, 10:30, 40:90] = True  # a forehead-like band
    return m


def test_uniform_map_scores_one_and_a_map_on_the_mask_scores_the_inverse_area():
    masks = _masks(3)
    np.testing.assert_allclose(planted_enrichment(np.ones((3, 128, 128)), masks), 1.0)
    on_mask = masks.astype(float)
    np.testing.assert_allclose(planted_enrichment(on_mask, masks), 1 / masks[0].mean())
    off_mask = (~masks).astype(float)
    np.testing.assert_allclose(planted_enrichment(off_mask, masks), 0.0)
    assert len(planted_enrichment(np.zeros((2, 128, 128)), masks[:2])) == 0  # empty maps are dropped


def test_recovery_table_reads_truth_and_ranks_a_focused_method_above_a_diffuse_one(tmp_path):
    run = Run(tmp_path / "run")
    paths = [f"faces/person_a/{i}.png" for i in range(6)]
    masks = _masks(6)
    (run.data / "truth").mkdir(parents=True)
    np.savez_compressed(run.data / "truth" / "masks.npz", paths=np.array(paths), regions=np.array(["forehead"]),
                        masks=masks[:, None].astype(np.uint8))
    rng = np.random.default_rng(0)
    n = len(paths)
    for name, maps in (("classifier-focused", masks * 1.0 + rng.random((n, 128, 128)) * 0.1),
                       ("classifier-diffuse", rng.random((n, 128, 128)))):
        save_maps(run.explain / "maps" / f"{name}.npz",
                  MapFile(maps.astype(np.float32), paths, "classifier", name.split("-")[1], np.zeros(n),
                          np.full(n, -1), np.zeros(n), np.zeros(n), np.full(n, 0.9)))
    table = recovery_table(run, sorted((run.explain / "maps").glob("*.npz")), None, seed=0)
    assert table["classifier-focused"]["score"] > 3 * table["classifier-diffuse"]["score"]
    assert table["classifier-diffuse"]["score"] == pytest.approx(1.0, abs=0.05)
    f = table["classifier-focused"]
    assert f["ci_low"] <= f["score"] <= f["ci_high"] and f["n"] == n


def test_no_truth_no_table(tmp_path):
    assert recovery_table(Run(tmp_path), [], None, seed=0) is None
