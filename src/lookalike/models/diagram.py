"""Figures 2 and 6 drawn from the networks themselves, so the drawing cannot drift from the code.

`trace` runs one forward pass through a built network with a hook on every leaf module and
records, in the order they run, each layer's type, settings, output shape and parameter count;
a layer that runs twice per pass is the Siamese network's shared branch. `draw` turns that
record into a block diagram (one box per convolution block or dense layer, its output shape
and parameters under it) and `layer_rows` into a table of every layer. Options such as a
working resolution below 128×128, batch norm after the convolutions or a fitted temperature
show up because they are modules of the built network, not because this file knows of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .registry import build_model, model_meta
from .siamese import SiameseNet

PAIR_CLASSES = ("same", "different")


@dataclass
class Layer:
    """One leaf module as it ran: where it sits, what it is, what it produced."""

    name: str  # module path, e.g. "features.3"
    kind: str  # conv | pool | global_pool | batch_norm | relu | dense | dropout | flatten | normalize | temperature | …
    label: str  # e.g. "conv 3×3, 64"
    in_shape: tuple[int, ...]  # without the batch dimension
    out_shape: tuple[int, ...]
    params: int
    calls: int = 1  # 2: the Siamese branch, run once per image of the pair


@dataclass
class Architecture:
    """A traced network: its layers in running order and the totals the paper quotes."""

    kind: str  # classifier | siamese
    input_shape: tuple[int, ...]
    layers: list[Layer] = field(default_factory=list)
    parameters: int = 0
    classes: tuple[str, ...] = ()

    @property
    def weight_layers(self) -> int:
        return sum(layer.kind in ("conv", "dense") for layer in self.layers)

    @property
    def convolutions(self) -> int:
        return sum(layer.kind == "conv" for layer in self.layers)

    @property
    def working_shape(self) -> tuple[int, ...]:
        """The image size the convolutions see (smaller than the input when the network resizes it)."""
        first = next((layer for layer in self.layers if layer.kind == "conv"), None)
        return first.in_shape if first else self.input_shape

    @property
    def pair(self) -> bool:
        return any(layer.calls > 1 for layer in self.layers)

    def headline(self) -> str:
        dense = self.weight_layers - self.convolutions
        c, h, w = self.input_shape
        work = self.working_shape
        resized = f", computed at {work[-2]}×{work[-1]}" if tuple(work[-2:]) != (h, w) else ""
        pair = "two " if self.pair else ""
        return (f"{self.weight_layers} weight layers ({self.convolutions} convolutions, {dense} dense), "
                f"{self.parameters:,} parameters; input {pair}{c}×{h}×{w}{resized}")


def _label(module: nn.Module, kind: str, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> str:
    if kind == "conv":
        k = module.kernel_size
        return f"conv {k[0]}×{k[1]}, {module.out_channels}"
    if kind == "pool":
        k = module.kernel_size if isinstance(module.kernel_size, int) else module.kernel_size[0]
        return f"max pool {k}×{k}"
    if kind == "global_pool":
        return "average pool"
    if kind == "dense":
        return f"dense {module.out_features}"
    if kind == "dropout":
        return f"dropout {module.p:g}"
    if kind == "normalize":
        if in_shape[-2:] != out_shape[-2:]:
            return f"normalise, resize to {out_shape[-2]}×{out_shape[-1]}"
        return "normalise"
    if kind == "temperature":
        return f"÷ temperature {float(getattr(module, 'temperature', 1.0)):.3g}"
    return {"batch_norm": "batch norm", "relu": "ReLU", "flatten": "flatten"}.get(kind, kind)


def _kind(module: nn.Module) -> str:
    kinds: list[tuple[type | tuple[type, ...], str]] = [
        (nn.Conv2d, "conv"), ((nn.MaxPool2d, nn.AvgPool2d), "pool"),
        ((nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d), "global_pool"),
        ((nn.BatchNorm1d, nn.BatchNorm2d), "batch_norm"), ((nn.ReLU, nn.LeakyReLU, nn.GELU), "relu"),
        (nn.Linear, "dense"), (nn.Dropout, "dropout"), (nn.Flatten, "flatten")]
    for types, name in kinds:
        if isinstance(module, types):
            return name
    return type(module).__name__.lower()


def _classes(model: nn.Module, pair: bool) -> tuple[str, ...]:
    if pair:
        return PAIR_CLASSES
    n = int(getattr(model, "config", {}).get("num_classes", 2))
    return tuple(f"person {chr(65 + i)}" for i in range(n))


def trace(model: nn.Module, image_size: int | None = None) -> Architecture:
    """Run one pass (two images for a pair network) and record every leaf module that ran."""
    model = getattr(model, "module", model)  # unwrap DDP
    size = int(image_size or getattr(model, "config", {}).get("image_size", 128))
    pair = isinstance(model, SiameseNet)
    seen: dict[str, Layer] = {}
    hooks = []

    def hook(name: str):
        def record(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
            if name in seen:
                seen[name].calls += 1
                return
            kind = _kind(module)
            i, o = tuple(inputs[0].shape[1:]), tuple(output.shape[1:])
            seen[name] = Layer(name, kind, _label(module, kind, i, o), i, o,
                               sum(p.numel() for p in module.parameters(recurse=False)))
        return record

    for name, module in model.named_modules():
        if name and not any(True for _ in module.children()):
            hooks.append(module.register_forward_hook(hook(name)))
    was_training = model.training
    device = next(model.parameters()).device
    x = torch.zeros(1, 3, size, size, device=device)
    try:
        model.eval()
        with torch.no_grad():
            model(x, x.clone()) if pair else model(x)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    kind = "siamese" if pair else "classifier"
    return Architecture(kind, (3, size, size), list(seen.values()), sum(p.numel() for p in model.parameters()),
                        _classes(model, pair))


def trace_saved(folder: str | Path) -> Architecture:
    """Trace the network saved in `folder` from its model.json (no weights needed: shapes only)."""
    meta = model_meta(folder)
    try:
        with torch.device("meta"):
            model = build_model(meta["kind"], **meta["arch"])
        return trace(model)
    except (NotImplementedError, RuntimeError):  # an operation without a meta kernel: build it for real
        return trace(build_model(meta["kind"], **meta["arch"]))


# --- grouping: the boxes of the drawing ------------------------------------------------------

@dataclass
class Block:
    """One box of the diagram: a run of layers that belong together (a conv block, a dense layer)."""

    title: str
    detail: str
    out_shape: tuple[int, ...]
    params: int
    kind: str  # input | conv | pool | dense | join | output | other
    shared: bool = False


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape))


def _conv_block(layers: list[Layer]) -> Block:
    convs = [layer for layer in layers if layer.kind == "conv"]
    widths = list(dict.fromkeys(layer.label.split(", ")[1] for layer in convs))
    kernel = convs[0].label.split(",")[0].removeprefix("conv ")
    extras = [w for w, k in (("BN", "batch_norm"), ("ReLU", "relu")) if any(layer.kind == k for layer in layers)]
    pools = [layer.label for layer in layers if layer.kind == "pool"]
    title = f"{len(convs)} × conv {kernel}\n{'/'.join(widths)} filters"
    detail = "\n".join([" + ".join(extras), *pools])
    return Block(title, detail, layers[-1].out_shape, sum(layer.params for layer in layers), "conv",
                 shared=layers[0].calls > 1)


def _dense_block(layers: list[Layer]) -> Block:
    head, rest = layers[0], layers[1:]
    extras = [{"batch_norm": "BN", "relu": "ReLU"}.get(layer.kind, layer.label) for layer in rest]
    lines = [" + ".join(x for x in extras if not x.startswith("dropout")),
             *(x for x in extras if x.startswith("dropout"))]
    return Block(head.label, "\n".join(x for x in lines if x), layers[-1].out_shape,
                 sum(layer.params for layer in layers), "dense", shared=head.calls > 1)


def blocks(arch: Architecture) -> list[Block]:
    """The layers grouped into boxes: convolutions up to and including their pooling, each dense layer
    with the batch norm, ReLU and dropout after it; the input, the join and the output around them."""
    out = [Block("input", _shape(arch.input_shape), arch.input_shape, 0, "input", shared=arch.pair)]
    pending: list[Layer] = []
    layers = list(arch.layers)

    def flush() -> None:
        if pending:
            out.append(_conv_block(pending) if pending[0].kind == "conv" else _dense_block(pending))
            pending.clear()

    for k, layer in enumerate(layers):
        if layer.kind == "temperature" and layer.label.endswith(" 1"):
            continue  # a temperature of 1 divides by one: nothing to draw
        if layer.kind == "normalize":
            if layer.in_shape != layer.out_shape:
                out.append(Block("resize", layer.label.split(", ")[-1], layer.out_shape, 0, "other", layer.calls > 1))
            continue
        if arch.pair and layer.calls == 1 and k and layers[k - 1].calls > 1:  # first layer after the branch
            flush()
            out.append(Block("join", f"two {layers[k - 1].out_shape[0]}-long\nembeddings", layer.in_shape, 0,
                             "join"))
        if layer.kind == "conv" and pending and pending[0].kind != "conv":
            flush()
        if layer.kind == "dense":
            flush()
            pending.append(layer)
        elif layer.kind in ("conv", "batch_norm", "relu", "dropout") and (pending or layer.kind == "conv"):
            pending.append(layer)
        elif layer.kind == "pool" and pending and pending[0].kind == "conv":
            pending.append(layer)
            flush()
        elif layer.kind == "flatten":
            flush()
        else:
            flush()
            out.append(Block(layer.label, "", layer.out_shape, layer.params,
                             "pool" if layer.kind in ("pool", "global_pool") else "other", layer.calls > 1))
    flush()
    out.append(Block("softmax", "\n".join(arch.classes), (len(arch.classes),), 0, "output"))
    return out


def layer_rows(arch: Architecture) -> list[dict[str, Any]]:
    """Every layer in running order: a table a reader can check against the drawing."""
    return [{"layer": layer.name, "what": layer.label, "output": _shape(layer.out_shape), "parameters": layer.params,
             "runs": "once per image (shared)" if layer.calls > 1 else "once"} for layer in arch.layers]


# --- drawing -------------------------------------------------------------------------------------

COLOURS = {"input": "#e8e8e8", "conv": "#9ecae1", "pool": "#fcbba1", "dense": "#a1d99b", "join": "#fdd49e",
           "output": "#dadaeb", "other": "#f0f0f0"}


def _height(block: Block) -> float:
    """Box height: convolution blocks shrink with their output side (as in the paper's Figure 2)."""
    if len(block.out_shape) == 3 and block.kind in ("input", "conv", "pool", "other"):
        return 0.62 + 0.48 * min(1.0, block.out_shape[-1] / 128) ** 0.5
    return 0.7


def _params(n: int) -> str:
    if n == 0:
        return ""
    return f"{n / 1e6:.2f} M" if n >= 1e6 else (f"{n / 1e3:.1f} k" if n >= 1e3 else str(n))


STEP = 1.3  # distance between box starts; boxes are 1 wide
DPI = 130


def _draw_row(ax: Any, row: list[Block], y: float, x0: float = 0.0) -> None:
    from matplotlib.patches import FancyBboxPatch

    for k, b in enumerate(row):
        x = x0 + k * STEP
        h = _height(b)
        ax.add_patch(FancyBboxPatch((x, y - h / 2), 1.0, h, boxstyle="round,pad=0.02,rounding_size=0.06",
                                    fc=COLOURS.get(b.kind, "#f0f0f0"), ec="#444444", lw=0.8))
        ax.text(x + 0.5, y + h / 2 - 0.07, b.title, ha="center", va="top", fontsize=5.9, linespacing=1.15)
        if b.detail:
            ax.text(x + 0.5, y + h / 2 - 0.07 - 0.115 * (b.title.count("\n") + 1) - 0.03, b.detail, ha="center",
                    va="top", fontsize=5.4, color="#333333", linespacing=1.15)
        under = _shape(b.out_shape) if b.kind not in ("input", "output") else ""
        info = "\n".join(s for s in (under, _params(b.params)) if s)
        if info:
            ax.text(x + 0.5, y - h / 2 - 0.05, info, ha="center", va="top", fontsize=5.6, color="#555555")
        if k:
            ax.annotate("", xy=(x - 0.02, y), xytext=(x - STEP + 1.02, y),
                        arrowprops=dict(arrowstyle="->", lw=0.8, color="#444444"))


def _figure(arch: Architecture, title: str | None, classes: tuple[str, ...] | None) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    boxes = blocks(arch)
    if classes:
        boxes[-1].detail = "\n".join(classes)
    split = next((k for k, b in enumerate(boxes) if b.kind == "join"), None)
    branch, head = (boxes[:split], boxes[split:]) if split is not None else (boxes, [])
    width = STEP * (len(branch) + len(head))
    fig, ax = plt.subplots(figsize=(max(6.0, width * 0.82), 4.0 if head else 2.3))
    if head:
        for y, name in ((1.0, "image A"), (-1.0, "image B")):
            _draw_row(ax, branch, y)
            ax.text(-0.08, y, name, ha="right", va="center", fontsize=7)
        x_join = STEP * len(branch)
        for y in (1.0, -1.0):
            ax.annotate("", xy=(x_join - 0.02, 0.0), xytext=(x_join - STEP + 1.02, y),
                        arrowprops=dict(arrowstyle="->", lw=0.8, color="#444444"))
        _draw_row(ax, head, 0.0, x0=x_join)
        ax.set_ylim(-1.95, 1.6)
        note = "\nboth images pass through the same branch (shared weights)"
    else:
        _draw_row(ax, branch, 0.0)
        ax.set_ylim(-0.95, 0.6)
        note = ""
    ax.set_xlim(-0.75, width)
    ax.axis("off")
    name = "Siamese network" if arch.pair else "Classifier"
    ax.set_title(title or f"{name} as built: {arch.headline()}{note}", fontsize=8)
    return fig


def draw(arch: Architecture, path: str | Path, title: str | None = None,
         classes: tuple[str, ...] | None = None) -> Path:
    """The block diagram as a PNG file: one row (the classifier) or the shared branch twice joining the head.

    `classes` names the outputs in the softmax box (e.g. the two people); the traced ones otherwise."""
    from ..io import save_figure

    return save_figure(path, _figure(arch, title, classes), dpi=DPI)


def draw_png(arch: Architecture, title: str | None = None, classes: tuple[str, ...] | None = None) -> bytes:
    """The same drawing as PNG bytes (the report embeds it without writing into a stage's folder)."""
    import io

    import matplotlib.pyplot as plt

    fig = _figure(arch, title, classes)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
