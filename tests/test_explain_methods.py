"""Attribution methods: one uniform call per method, for one image or a Siamese pair."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lookalike.contract import MapFile, load_maps, save_maps
from lookalike.errors import LookalikeError
from lookalike.explain import methods as M
from lookalike.explain.wrap import explainable
from lookalike.models import SiameseNet, VGGClassifier

# tiny networks run fastest on one thread (and do not fight other tests for the cores)
pytestmark = pytest.mark.usefixtures("one_torch_thread")


CHEAP = {"steps": 4, "window": 32, "stride": 32}  # method settings, passed as arguments


def _nets():
    torch.manual_seed(0)
    return {"classifier": VGGClassifier(width=2, dense=8), "siamese": SiameseNet(width=2, hidden=8)}


@pytest.mark.parametrize("kind", ["classifier", "siamese"])
def test_every_method_gives_one_nonnegative_map_per_input(kind):
    model = explainable(_nets()[kind])
    inputs = tuple(torch.rand(2, 3, 128, 128) for _ in range(model.n_inputs))
    target = torch.tensor([0, 1])
    for name, method in M.METHODS.items():
        maps = M.attribute_maps(method, model, inputs, target, settings=CHEAP)
        assert len(maps) == model.n_inputs, name
        for m in maps:
            assert m.shape == (2, 128, 128) and m.dtype == torch.float32, name
            assert torch.isfinite(m).all() and (m >= 0).all(), name
        assert any(float(m.sum()) > 0 for m in maps), f"{name} gave empty maps"


def test_unshared_siamese_computes_the_same_function():
    net = _nets()["siamese"].eval()
    a, b = torch.rand(3, 3, 128, 128), torch.rand(3, 3, 128, 128)
    with torch.no_grad():
        torch.testing.assert_close(explainable(net)(a, b), net(a, b))
    # the two branches are distinct modules, so hooks on one see only its own image
    model = explainable(net)
    assert model.gradcam_layers[0] is not model.gradcam_layers[1]


def test_siamese_maps_belong_to_their_own_image():
    """Gradients for image A must not leak into image B's map: zero image B's influence and its map is 0."""
    model = explainable(_nets()["siamese"])
    a = torch.rand(2, 3, 128, 128)
    maps = M.attribute_maps("guided_backprop", model, (a, a.clone()), torch.tensor([1, 1]))
    assert not torch.equal(maps[0], torch.zeros_like(maps[0]))
    # a pair of identical images: the symmetric head gives (nearly) identical maps on both sides
    torch.testing.assert_close(maps[0], maps[1], rtol=1e-3, atol=1e-6)


def test_a_new_method_is_one_registry_entry():
    @M.register("input_times_one", "Input", "abs", "test-only")
    def input_times_one(model, inputs, target):
        return tuple(x.detach() for x in inputs)

    try:
        x = torch.rand(2, 3, 128, 128)
        maps = M.attribute_maps("input_times_one", explainable(_nets()["classifier"]), (x,), torch.tensor([0, 1]))
        torch.testing.assert_close(maps[0], x.sum(1))
    finally:
        M.METHODS.pop("input_times_one")
    with pytest.raises(LookalikeError, match="unknown attribution method"):
        M.get_method("input_times_one")


def test_map_file_round_trip_and_bad_maps(tmp_path):
    n = 4
    mf = MapFile(np.random.rand(n, 128, 128).astype(np.float32), [f"faces/a/{i}.png" for i in range(n)],
                 "siamese", "grad_cam", np.array([0, 0, 1, 1]), np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]),
                 np.array([0, 0, 0, 1]), np.full(n, 0.7))
    path = save_maps(tmp_path / "maps" / "siamese-grad_cam.npz", mf)
    back = load_maps(path)
    np.testing.assert_array_equal(back.maps, mf.maps)
    assert back.paths == mf.paths and back.name == "siamese-grad_cam" and back.is_pairs
    np.testing.assert_array_equal(back.target, mf.target)
    mf.maps[0, 0, 0] = -1
    with pytest.raises(ValueError, match="≥ 0"):
        save_maps(tmp_path / "bad.npz", mf)
    assert not (tmp_path / "bad.npz").exists()
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(LookalikeError, match="cannot read"):
        load_maps(tmp_path / "junk.npz")
