"""Fixtures of dropout / dropout2d. PyTorch's masks come from its own RNG, which the engine's
Philox stream does not reproduce, so only the deterministic cases are references: eval mode
(identity, gradient passes unchanged) and p = 1 in training (zeros, zero gradient). The random
masks are tested in tests/reference/dropout_test.cpp against their definition instead."""
import torch
import torch.nn.functional as F

from refgen import forward_backward, randn, save


def case(op, name, fn, x, p, training):
    out, grad_out, (gx,) = forward_backward(fn, [x])
    return save(op, name, {"x": x, "out": out, "grad_out": grad_out, "grad_x": gx},
                {"p": p, "training": training})


def generate():
    x = randn(2, 3, 4, 5, seed=61)
    return [
        case("dropout", "eval", lambda a: F.dropout(a, 0.5, training=False), x, 0.5, False),
        case("dropout", "p1", lambda a: F.dropout(a, 1.0, training=True), x, 1.0, True),
        case("dropout2d", "eval", lambda a: F.dropout2d(a, 0.3, training=False), x, 0.3, False),
        case("dropout2d", "p1", lambda a: F.dropout2d(a, 1.0, training=True), x, 1.0, True),
    ]
