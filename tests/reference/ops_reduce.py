"""Fixtures of the reduction family: sum/mean/max/min over all elements or dims, argmax.

Cases cover all elements, dim 1 and dims {2, 3} of N×C×H×W, {0, 2, 3}, keepdim, negative dims
and float64. max/min inputs are small integers so ties are frequent: torch's max() over all
elements and amax/amin over several dims split the gradient evenly among ties; max(x, dim)
sends it to the returned (first) index. Metadata: dims (list) and keepdim; all=true for the
reduction over every element (the engine's sum(x), max(x), ...).
"""
import torch

from refgen import forward_backward, randn, save

SHAPE = (2, 5, 7, 9)


def case(op, name, fn, x, params):
    out, grad_out, (gx,) = forward_backward(fn, [x])
    return save(op, name, {"x": x, "out": out, "grad_out": grad_out, "grad_x": gx}, params)


def ties(*shape, seed):
    # Integers in [-3, 3]: many equal values per reduction.
    g = torch.Generator().manual_seed(seed)
    return torch.randint(-3, 4, shape, generator=g).to(torch.float32)


def generate():
    paths = []
    x = randn(*SHAPE, seed=11)
    x64 = randn(3, 4, 6, seed=12, dtype=torch.float64)
    dim_cases = {  # name: (dims, keepdim)
        "dim1": ([1], False),
        "dims23": ([2, 3], False),
        "dims023": ([0, 2, 3], False),
        "keep1": ([1], True),
        "keep23": ([2, 3], True),
        "neg": ([-1, -3], False),
    }
    for op, fn in (("sum", torch.sum), ("mean", torch.mean)):
        paths.append(case(op, "all", lambda a: fn(a), x, {"all": True}))
        for name, (dims, keep) in dim_cases.items():
            paths.append(case(op, name, lambda a: fn(a, dims, keepdim=keep), x,
                              {"dims": dims, "keepdim": keep}))
        paths.append(case(op, "f64", lambda a: fn(a, [0, 2]), x64, {"dims": [0, 2], "keepdim": False}))
        paths.append(case(op, "all_f64", lambda a: fn(a), x64, {"all": True}))

    t = ties(*SHAPE, seed=13)
    t64 = ties(3, 4, 6, seed=14).to(torch.float64)
    for op, whole, one, several in (
            ("max", torch.max, lambda a, d, k: torch.max(a, d, keepdim=k).values, torch.amax),
            ("min", torch.min, lambda a, d, k: torch.min(a, d, keepdim=k).values, torch.amin)):
        paths.append(case(op, "all_ties", lambda a: whole(a), t, {"all": True}))
        paths.append(case(op, "all_f64", lambda a: whole(a), t64, {"all": True}))
        paths.append(case(op, "all_randn", lambda a: whole(a), x, {"all": True}))
        paths.append(case(op, "dim1_ties", lambda a: one(a, 1, False), t, {"dims": [1], "keepdim": False}))
        paths.append(case(op, "dimneg1_keep", lambda a: one(a, -1, True), t, {"dims": [-1], "keepdim": True}))
        paths.append(case(op, "dim0_f64", lambda a: one(a, 0, False), t64, {"dims": [0], "keepdim": False}))
        paths.append(case(op, "dims23_ties", lambda a: several(a, [2, 3]), t, {"dims": [2, 3], "keepdim": False}))
        paths.append(case(op, "dims03_keep", lambda a: several(a, [0, 3], keepdim=True), t,
                          {"dims": [0, 3], "keepdim": True}))
        paths.append(case(op, "dims_neg", lambda a: several(a, [-1, -2]), x, {"dims": [-1, -2], "keepdim": False}))

    for name, src, dim, keep in (("dim1_ties", t, 1, False), ("dimneg1", t, -1, False),
                                 ("dim2_keep", x, 2, True), ("dim0_f64", t64, 0, False)):
        out = torch.argmax(src, dim, keepdim=keep)
        paths.append(save("argmax", name, {"x": src, "out": out}, {"dim": dim, "keepdim": keep}))
    return paths
