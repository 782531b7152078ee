"""Fixtures of the pointwise family: binary ops with broadcasting, scalar ops, unary maths."""
import torch

from refgen import forward_backward, rand, randn, save


def case(op, name, fn, inputs, params=None, names=("a", "b")):
    out, grad_out, grads = forward_backward(fn, inputs)
    tensors = {"out": out, "grad_out": grad_out}
    for n, x, g in zip(names, inputs, grads):
        tensors[n] = x
        if g is not None:
            tensors["grad_" + n] = g
    return save(op, name, tensors, params)


def generate():
    paths = []
    # Broadcasting cases: same shape, trailing/leading size-1 dims, rank mismatch, scalar-like.
    shapes = {
        "same": ((2, 3, 5, 7), (2, 3, 5, 7)),
        "channel": ((2, 3, 5, 7), (1, 3, 1, 1)),
        "rank": ((2, 3, 5, 7), (7,)),
        "both": ((2, 1, 5, 1), (1, 3, 1, 7)),
        "scalar": ((3, 4), ()),
    }
    binary = {"add": torch.add, "sub": torch.sub, "mul": torch.mul,
              "div": lambda a, b: a / b}
    for op, fn in binary.items():
        for name, (sa, sb) in shapes.items():
            a = randn(*sa, seed=1)
            b = randn(*sb, seed=2) if op != "div" else rand(*sb, seed=2, low=0.5, high=2.0)
            paths.append(case(op, name, fn, [a, b]))
    # Scalar ops.
    x = randn(3, 4, 5, seed=3)
    for op, fn, s in [("add_scalar", lambda a: a + 0.75, 0.75), ("mul_scalar", lambda a: a * -1.5, -1.5),
                      ("rsub_scalar", lambda a: 2.0 - a, 2.0)]:
        paths.append(case(op, "basic", fn, [x], {"s": s}, names=("a",)))
    pos = rand(3, 4, 5, seed=4, low=0.5, high=3.0)
    paths.append(case("rdiv_scalar", "basic", lambda a: 2.5 / a, [pos], {"s": 2.5}, names=("a",)))
    # Unary ops; inputs keep away from non-differentiable points except where a case tests them.
    paths.append(case("exp", "basic", torch.exp, [x], names=("a",)))
    paths.append(case("log", "basic", torch.log, [pos], names=("a",)))
    paths.append(case("sqrt", "basic", torch.sqrt, [pos], names=("a",)))
    paths.append(case("neg", "basic", torch.neg, [x], names=("a",)))
    for e in (2.0, 3.0, 0.5, -1.5):
        paths.append(case("pow", f"e{e}".replace(".", "p").replace("-", "m"),
                          lambda a, e=e: torch.pow(a, e), [pos if e != int(e) or e < 0 else x],
                          {"exponent": e}, names=("a",)))
    # Exact zeros/boundaries: PyTorch's subgradient choices (relu'(0)=0, abs'(0)=0,
    # relu6'(6)=0, clamp passes at the bounds).
    edge = torch.tensor([-2.0, -0.5, 0.0, 0.5, 3.0, 6.0, 7.0, 1.0, -1.0, 2.0])
    paths.append(case("abs", "basic", torch.abs, [x], names=("a",)))
    paths.append(case("abs", "zeros", torch.abs, [edge], names=("a",)))
    paths.append(case("relu", "basic", torch.relu, [x], names=("a",)))
    paths.append(case("relu", "edges", torch.relu, [edge], names=("a",)))
    paths.append(case("relu6", "basic", torch.nn.functional.relu6, [x * 5], names=("a",)))
    paths.append(case("relu6", "edges", torch.nn.functional.relu6, [edge], names=("a",)))
    paths.append(case("clamp", "both", lambda a: torch.clamp(a, -0.5, 1.0), [edge],
                      {"lo": -0.5, "hi": 1.0}, names=("a",)))
    paths.append(case("clamp", "lo_only", lambda a: torch.clamp(a, min=0.25), [x],
                      {"lo": 0.25}, names=("a",)))
    paths.append(case("clamp", "hi_only", lambda a: torch.clamp(a, max=0.25), [x],
                      {"hi": 0.25}, names=("a",)))
    # float64 variants of a broadcast binary op and a unary op (the dtype path).
    a64, b64 = randn(2, 3, 4, seed=5, dtype=torch.float64), randn(3, 1, seed=6, dtype=torch.float64)
    paths.append(case("mul", "f64", torch.mul, [a64, b64]))
    paths.append(case("exp", "f64", torch.exp, [a64], names=("a",)))
    return paths
