"""Fixtures of the linear family: matmul (2-D, batched 3-D) and linear (nn.functional.linear)."""
import torch
import torch.nn.functional as F

from refgen import forward_backward, randn, save


def case(op, name, fn, inputs, names):
    out, grad_out, grads = forward_backward(fn, inputs)
    tensors = {"out": out, "grad_out": grad_out}
    for n, x, g in zip(names, inputs, grads):
        if x is None:
            continue
        tensors[n] = x
        tensors["grad_" + n] = g
    return save(op, name, tensors)


def generate():
    paths = []
    f64 = torch.float64
    # matmul: odd sizes, shapes that leave partial register tiles (MR 14 / NR 32) in both dims,
    # degenerate 1×K·K×1, batched, float64.
    mm = {
        "odd": ((5, 7), (7, 3), torch.float32),
        "tiles": ((17, 40), (40, 35), torch.float32),
        "row_col": ((1, 9), (9, 1), torch.float32),
        "batched": ((3, 4, 6), (3, 6, 5), torch.float32),
        "f64": ((6, 11), (11, 4), f64),
        "batched_f64": ((2, 5, 3), (2, 3, 7), f64),
    }
    for name, (sa, sb, dt) in mm.items():
        a, b = randn(*sa, seed=1, dtype=dt), randn(*sb, seed=2, dtype=dt)
        paths.append(case("matmul", name, torch.matmul, [a, b], ("a", "b")))
    # linear: with and without bias, 1-D, 2-D and 3-D inputs, float64.
    lin = {
        "bias": ((5, 7), (3, 7), True, torch.float32),
        "nobias": ((5, 7), (3, 7), False, torch.float32),
        "input_3d": ((2, 3, 7), (4, 7), True, torch.float32),
        "input_1d": ((7,), (4, 7), True, torch.float32),
        "wide": ((4, 33), (20, 33), True, torch.float32),
        "f64": ((6, 5), (3, 5), True, f64),
        "f64_3d_nobias": ((2, 2, 5), (3, 5), False, f64),
    }
    for name, (sx, sw, has_bias, dt) in lin.items():
        x, w = randn(*sx, seed=3, dtype=dt), randn(*sw, seed=4, dtype=dt)
        b = randn(sw[0], seed=5, dtype=dt) if has_bias else None
        paths.append(case("linear", name, F.linear, [x, w, b], ("x", "weight", "bias")))
    return paths
