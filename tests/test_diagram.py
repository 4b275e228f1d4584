"""Figures 2 and 6 are traced from the built networks: layers, shapes and parameters come from the code."""

from __future__ import annotations

import inspect

import pytest
from PIL import Image

from lookalike.models import SiameseNet, VGGClassifier, save_model
from lookalike.models.diagram import blocks, draw, layer_rows, trace, trace_saved


def test_the_classifier_as_built_has_the_papers_21_weight_layers():
    net = VGGClassifier(width=4, dense=16)
    arch = trace(net)
    assert (arch.weight_layers, arch.convolutions) == (21, 18)
    assert arch.parameters == sum(p.numel() for p in net.parameters())
    assert sum(layer.params for layer in arch.layers) == arch.parameters  # every weight sits in a traced layer
    assert arch.layers[-1].out_shape == (2,) and not arch.pair
    conv = [b for b in blocks(arch) if b.kind == "conv"]
    assert [b.out_shape[-1] for b in conv] == [64, 32, 16, 8, 4]  # five blocks, each ending in a 2×2 pool
    assert [b.title.split(" × ")[0] for b in conv] == ["2", "2", "4", "5", "5"]
    assert [b.title for b in blocks(arch) if b.kind == "dense"] == ["dense 16", "dense 16", "dense 2"]
    dense = next(b for b in blocks(arch) if b.kind == "dense")
    assert "BN" not in conv[0].detail and dense.detail == "BN + ReLU\ndropout 0.3"  # as the paper's §4.1
    rows = layer_rows(arch)
    assert len(rows) == len(arch.layers) and rows[0]["what"] == "normalise"


def test_options_of_the_built_network_show_in_the_drawing():
    arch = trace(VGGClassifier(width=4, dense=16, conv_bn=True))
    assert all("BN" in b.detail for b in blocks(arch) if b.kind == "conv")
    if "input_size" not in inspect.signature(VGGClassifier).parameters:
        pytest.skip("this VGGClassifier has no input_size option")
    arch = trace(VGGClassifier(width=4, dense=16, input_size=64))
    assert arch.working_shape == (3, 64, 64) and "computed at 64×64" in arch.headline()
    assert blocks(arch)[1].title == "resize"


def test_the_siamese_branch_runs_once_per_image_and_joins_in_the_head():
    net = SiameseNet(width=4, hidden=8)
    arch = trace(net)
    assert arch.pair and (arch.convolutions, arch.weight_layers) == (10, 12)
    branch = [layer for layer in arch.layers if layer.calls == 2]
    assert branch[-1].out_shape == (net.embedding_size, 1, 1)  # the shared branch ends in the embedding
    boxes = blocks(arch)
    join = next(b for b in boxes if b.kind == "join")
    assert join.out_shape == (2 * net.embedding_size,) and f"two {net.embedding_size}-long" in join.detail
    assert all(b.shared for b in boxes[:boxes.index(join)]) and not any(b.shared for b in boxes[boxes.index(join):])
    assert boxes[-1].detail == "same\ndifferent"
    assert arch.parameters == sum(p.numel() for p in net.parameters())


def test_a_saved_network_is_traced_from_its_config_and_drawn(tmp_path):
    net = SiameseNet(width=4, hidden=8)
    save_model(tmp_path / "siamese", "siamese", net)
    saved, built = trace_saved(tmp_path / "siamese"), trace(net)
    assert [(x.name, x.out_shape, x.params) for x in saved.layers] == [(x.name, x.out_shape, x.params)
                                                                        for x in built.layers]
    png = draw(saved, tmp_path / "figure6.png")
    with Image.open(png) as im:
        assert im.width > im.height > 200
