#!/usr/bin/env python3
"""Reference fixtures of the segmentation models (issue 3): every registered model built in
segmentation_models_pytorch 0.6, filled deterministically from each tensor's name (the C++ side,
models/fill.h, computes the same values), so the fixtures hold only inputs and outputs:

  models__inputs.safetensors    x_square (2, 3, 64, 64), x_wide (1, 3, 96, 160)
  models__<name>.safetensors    logits in eval mode and in train mode (batch statistics,
                                dropout off) for both inputs, gradients of a fixed scalar loss
                                for a few named parameters, a few buffers after the train
                                forward; metadata: state-dict names/shapes/dtypes in order,
                                parameter count, smp's exported safetensors header + CRC-32.

References are computed in float64 from the float32 weights and inputs, stored as float32.

Usage: python3 tests/reference/make_models.py            (writes the fixtures)
       python3 tests/reference/make_models.py --check-export MODEL FILE.safetensors
           loads a file written by the engine (e.g. xgd_run's weights) into smp with
           load_state_dict(strict=True) and prints the max |logit| difference against the
           name-filled model (the reverse direction of the interop test).
Developer-only: needs torch, safetensors and segmentation-models-pytorch==0.6.0 from PyPI.
"""
import json
import os
import sys
import zlib

import numpy as np
import torch
import torch.nn as nn
import segmentation_models_pytorch as smp
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from refgen import FIXTURES, randn, save  # noqa: E402

CLASSES = 3
# registry name -> (smp class, smp encoder name, extra kwargs)
MODELS = {
    "deeplabv3plus_resnet18": ("DeepLabV3Plus", "resnet18", {}),
    "deeplabv3plus_resnet34": ("DeepLabV3Plus", "resnet34", {}),
    "deeplabv3plus_resnet50": ("DeepLabV3Plus", "resnet50", {}),
    "deeplabv3plus_resnet101": ("DeepLabV3Plus", "resnet101", {}),
    "deeplabv3plus_mobilenetv2": ("DeepLabV3Plus", "mobilenet_v2", {}),
    "pspnet_resnet18": ("PSPNet", "resnet18", {}),
    "pspnet_resnet34": ("PSPNet", "resnet34", {}),
    "pspnet_resnet50": ("PSPNet", "resnet50", {}),
    "pspnet_resnet101": ("PSPNet", "resnet101", {}),
    "pspnet_mobilenetv2": ("PSPNet", "mobilenet_v2", {}),
}
# Output stride 8 (dilated layer3/features[7:14] too): eval logits only.
OS8 = ["deeplabv3plus_resnet18", "deeplabv3plus_mobilenetv2"]
# The ResNet-34 variants (beyond DESIGN.md's eight names) get the square input only.
SQUARE_ONLY = {"deeplabv3plus_resnet34", "pspnet_resnet34"}
# Models whose smp-exported safetensors header is stored for the byte-level interop test.
EXPORT_HEADERS = {"deeplabv3plus_mobilenetv2", "pspnet_resnet18"}

# ---------------------------------------------------------------- name-keyed fill (models/fill.h)
M64 = (1 << 64) - 1


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


def uniform_by_name(name, shape, lo, hi):
    n = int(np.prod(shape)) if len(shape) else 1
    i = np.arange(1, n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(fnv1a64(name)) + i * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(np.float64) * 2.0**-24
    return torch.from_numpy((lo + (hi - lo) * u).astype(np.float32)).reshape(tuple(shape))


def fill(model):
    """Every Conv2d and BatchNorm2d, by name; any other module with parameters is an error."""
    with torch.no_grad():
        for mn, m in model.named_modules():
            p = mn + "." if mn else ""
            if isinstance(m, nn.Conv2d):
                fan = m.weight[0].numel()
                b = np.sqrt(6.0 / fan)
                m.weight.copy_(uniform_by_name(p + "weight", m.weight.shape, -b, b))
                if m.bias is not None:
                    b = 1.0 / np.sqrt(fan)
                    m.bias.copy_(uniform_by_name(p + "bias", m.bias.shape, -b, b))
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(uniform_by_name(p + "weight", m.weight.shape, 0.5, 1.0))
                m.bias.copy_(uniform_by_name(p + "bias", m.bias.shape, -0.1, 0.1))
                m.running_mean.copy_(uniform_by_name(p + "running_mean", m.running_mean.shape, -0.1, 0.1))
                m.running_var.copy_(uniform_by_name(p + "running_var", m.running_var.shape, 0.5, 1.5))
            else:
                assert not list(m.parameters(recurse=False)), f"no fill rule for {mn} ({type(m)})"
    return model


def build(name, output_stride=None):
    cls, enc, kw = MODELS[name]
    kw = dict(kw)
    if output_stride is not None:
        kw["encoder_output_stride"] = output_stride
    model = getattr(smp, cls)(enc, encoder_weights=None, classes=CLASSES, **kw)
    return fill(model)


def train_no_dropout(model):
    model.train()
    for m in model.modules():
        if isinstance(m, (nn.Dropout, nn.Dropout2d)):
            m.eval()


def eval_logits(name, x, output_stride=None, dtype=torch.float64):
    model = build(name, output_stride).to(dtype).eval()
    with torch.no_grad():
        return model(x.to(dtype)).float()


def run_train(name, x, grads, buffers, dtype):
    """Train-mode forward (dropout off), then L = mean(logits · W) backward.
    Returns {logits_train_square, grad.<p>, state.<b>}."""
    model = build(name).to(dtype)
    train_no_dropout(model)
    y = model(x.to(dtype))
    w = uniform_by_name("loss.weight", y.shape, -1.0, 1.0).to(dtype)
    (y * w).mean().backward()
    out = {"logits_train_square": y.detach().float()}
    params = dict(model.named_parameters())
    for p in grads:
        out["grad." + p] = params[p].grad.float()
    named = dict(model.named_buffers())
    for b in buffers:
        t = named[b]
        out["state." + b] = t.float() if t.is_floating_point() else t.clone()
    return out


def deviation(a32, a64):
    """max|a32 - a64| / max|a64|: how far PyTorch's own float32 result is from float64."""
    a32, a64 = a32.double(), a64.double()
    return float((a32 - a64).abs().max() / a64.abs().max().clamp_min(1e-30))


# ---------------------------------------------------------------- what the gradients cover
def bn_names(model, prefix):
    return [n[: -len(".weight")] for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)
            and n.startswith(prefix) for n in [n + ".weight"]]


def grad_params(name, model):
    """Small named parameters spread from the first layer to the head."""
    cls, enc, _ = MODELS[name]
    out = []
    if enc.startswith("resnet"):
        last_stage = "encoder.layer4" if cls == "DeepLabV3Plus" else "encoder.layer2"
        out += ["encoder.conv1.weight", "encoder.bn1.weight", "encoder.layer1.0.bn1.bias",
                bn_names(model, last_stage)[-1] + ".weight"]
    else:
        last = "encoder.features.18" if cls == "DeepLabV3Plus" else "encoder.features.6"
        out += ["encoder.features.0.0.weight", "encoder.features.0.1.weight",
                "encoder.features.1.conv.0.1.bias", bn_names(model, last)[-1] + ".weight"]
    if cls == "DeepLabV3Plus":
        out += ["decoder.aspp.0.convs.0.1.weight", "decoder.aspp.0.convs.4.2.weight",
                "decoder.aspp.0.project.1.bias", "decoder.aspp.2.weight", "decoder.block1.1.weight",
                "decoder.block2.0.0.weight", "segmentation_head.0.weight", "segmentation_head.0.bias"]
    else:
        out += ["decoder.psp.blocks.0.pool.1.0.bias", "decoder.psp.blocks.3.pool.1.1.weight",
                "decoder.conv.1.weight", "decoder.conv.1.bias", "segmentation_head.0.weight",
                "segmentation_head.0.bias"]
    return out


def state_buffers(name, model):
    """Buffers after one train forward: updated ones, and unused layers' (unchanged in smp)."""
    cls, enc, _ = MODELS[name]
    out = ["encoder.bn1.running_mean" if enc.startswith("resnet") else "encoder.features.0.1.running_mean",
           "encoder.bn1.running_var" if enc.startswith("resnet") else "encoder.features.0.1.running_var",
           "encoder.bn1.num_batches_tracked" if enc.startswith("resnet")
           else "encoder.features.0.1.num_batches_tracked"]
    if cls == "DeepLabV3Plus":
        out += ["decoder.block1.1.running_var", "decoder.aspp.0.convs.4.2.running_mean"]
    else:
        out += ["decoder.conv.1.running_var", "decoder.psp.blocks.3.pool.1.1.running_mean"]
        # smp's MobileNetV2 encoder runs features 7..13 before breaking (their BN stats move);
        # ResNet's layer3 never runs at depth 3 (its stats stay).
        out += ["encoder.features.13.conv.3.running_mean", "encoder.features.14.conv.3.running_mean"] \
            if enc == "mobilenet_v2" else ["encoder.layer3.0.bn1.running_mean"]
    return out


def exported_header(model):
    """smp's state_dict written by safetensors.torch.save_file: its header and CRC-32."""
    path = os.path.join(FIXTURES, "_export_tmp.safetensors")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, path)
    data = open(path, "rb").read()
    os.remove(path)
    n = int.from_bytes(data[:8], "little")
    return data[8:8 + n].decode("utf-8"), zlib.crc32(data), len(data)


def generate_model(name, inputs):
    square, wide = inputs["x_square"], inputs["x_wide"]
    cls = MODELS[name][0]
    model32 = build(name)
    sd = model32.state_dict()
    meta = {
        "classes": CLASSES,
        "num_params": sum(p.numel() for p in model32.parameters()),
        "state_dict": [[k, list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in sd.items()],
        "output_stride": model32.encoder.output_stride,
    }
    if name in EXPORT_HEADERS:
        header, crc, size = exported_header(model32)
        meta.update({"smp_header": header, "smp_crc32": crc, "smp_size": size})
    tensors = {"logits_eval_square": eval_logits(name, square)}
    dev = {"logits_eval_square": deviation(eval_logits(name, square, dtype=torch.float32),
                                           tensors["logits_eval_square"])}
    if name not in SQUARE_ONLY:
        tensors["logits_eval_wide"] = eval_logits(name, wide)
        dev["logits_eval_wide"] = deviation(eval_logits(name, wide, dtype=torch.float32),
                                            tensors["logits_eval_wide"])

    # Train mode (batch statistics, dropout off) on the square input, then a fixed scalar loss
    # L = mean(logits · W), W = uniform_by_name("loss.weight", logits shape, -1, 1).
    probe = build(name)
    meta["grad_params"] = grad_params(name, probe)
    meta["state_buffers"] = state_buffers(name, probe)
    ref = run_train(name, square, meta["grad_params"], meta["state_buffers"], torch.float64)
    f32 = run_train(name, square, meta["grad_params"], meta["state_buffers"], torch.float32)
    tensors.update(ref)
    for k, v in ref.items():
        if v.is_floating_point():
            dev[k] = deviation(f32[k], v)

    if name not in SQUARE_ONLY:
        model = build(name).double()
        train_no_dropout(model)
        try:
            with torch.no_grad():
                tensors["logits_train_wide"] = model(wide.double()).float()
            model = build(name)
            train_no_dropout(model)
            with torch.no_grad():
                dev["logits_train_wide"] = deviation(model(wide), tensors["logits_train_wide"])
            meta["train_wide_error"] = False
        except ValueError as e:  # BatchNorm over 1 value per channel (ASPP pooling, batch 1)
            assert "Expected more than 1 value per channel" in str(e), e
            meta["train_wide_error"] = True
    # PyTorch float32's own distance from the float64 reference, per stored tensor: the C++
    # float32 checks allow a small multiple of it (train-mode BatchNorm over 2 values per
    # channel in the ASPP pooling branch and ReLU sign flips make deep float32 results drift).
    meta["torch_f32_deviation"] = dev
    return save("models", name, tensors, meta)


def generate_os8(name, inputs):
    model = build(name, output_stride=8)
    meta = {"classes": CLASSES, "output_stride": 8, "model": name}
    x = inputs["x_square"]
    tensors = {"logits_eval_square": eval_logits(name, x, output_stride=8)}
    meta["torch_f32_deviation"] = {"logits_eval_square": deviation(
        eval_logits(name, x, output_stride=8, dtype=torch.float32), tensors["logits_eval_square"])}
    assert model.encoder.output_stride == 8
    return save("models", name + "_os8", tensors, meta)


def generate():
    torch.use_deterministic_algorithms(True)
    inputs = {"x_square": randn(2, 3, 64, 64, seed=1), "x_wide": randn(1, 3, 96, 160, seed=2)}
    paths = [save("models", "inputs", inputs)]
    for name in MODELS:
        paths.append(generate_model(name, inputs))
        print(name, os.path.getsize(paths[-1]) // 1024, "KB", flush=True)
    for name in OS8:
        paths.append(generate_os8(name, inputs))
    total = sum(os.path.getsize(p) for p in paths)
    print(f"models: {len(paths)} fixtures, {total / 1e6:.2f} MB")
    return paths


def check_export(name, path):
    """Reverse interop: a file written by the engine loads into smp (strict)."""
    model = getattr(smp, MODELS[name][0])(MODELS[name][1], encoder_weights=None, classes=CLASSES)
    state = load_file(path)
    model.load_state_dict(state, strict=True)
    model.eval()
    ref = build(name).eval()
    x = randn(2, 3, 64, 64, seed=1)
    with torch.no_grad():
        d = (model(x) - ref(x)).abs().max().item()
    print(f"{name}: {path} loaded into smp (strict); max |logits - name-filled smp logits| = {d:.3g}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--check-export":
        check_export(sys.argv[2], sys.argv[3])
    else:
        generate()
