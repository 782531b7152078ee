"""Fixtures of softmax / log_softmax: dim 1 of N×C×H×W (the classes), the last dim, dim 0,
a negative dim, logits up to ±50 (exp overflows without the max subtraction) and float64."""
import torch

from refgen import forward_backward, randn, save


def case(op, name, fn, x, dim):
    out, grad_out, (gx,) = forward_backward(fn, [x])
    return save(op, name, {"x": x, "out": out, "grad_out": grad_out, "grad_x": gx}, {"dim": dim})


def generate():
    paths = []
    big = randn(2, 5, 7, 9, seed=21) * 20
    big[0, 1, 2, :] = 50.0    # one class dominates
    big[1, :, 3, 4] = -50.0   # all classes equal and very negative
    big[1, 2, 0, 0] = 50.0
    big[1, 3, 0, 0] = -50.0
    last = randn(3, 4, 11, seed=22) * 20
    last[0, 0, :] = torch.linspace(-50, 50, 11)
    x64 = randn(3, 6, 5, seed=23, dtype=torch.float64) * 5
    small = randn(4, 3, seed=24)
    for op, fn in (("softmax", torch.softmax), ("log_softmax", torch.log_softmax)):
        paths.append(case(op, "dim1_large", lambda a: fn(a, 1), big, 1))
        paths.append(case(op, "last_large", lambda a: fn(a, -1), last, -1))
        paths.append(case(op, "dim0", lambda a: fn(a, 0), small, 0))
        paths.append(case(op, "dimneg2", lambda a: fn(a, -2), last, -2))
        paths.append(case(op, "dim1_f64", lambda a: fn(a, 1), x64, 1))
    return paths
