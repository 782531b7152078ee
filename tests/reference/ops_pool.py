"""Fixtures of the pooling family: max_pool2d, avg_pool2d, adaptive_avg_pool2d (NCHW)."""
import torch
import torch.nn.functional as F

from refgen import forward_backward, randn, save


def pool_case(op, name, fn, x, params):
    out, grad_out, (grad_x,) = forward_backward(fn, [x])
    return save(op, name, {"x": x, "out": out, "grad_out": grad_out, "grad_x": grad_x}, params)


def generate():
    paths = []
    # (name, shape, kernel, stride, padding, ceil_mode); stride [0, 0] = PyTorch's stride=None.
    geometries = [
        ("resnet_stem", (2, 3, 11, 13), [3, 3], [2, 2], [1, 1], False),  # ResNet 3×3/2 pad 1
        ("ceil", (1, 2, 10, 9), [3, 3], [2, 2], [0, 0], True),
        ("ceil_pad", (1, 2, 6, 7), [3, 3], [2, 2], [1, 1], True),  # last window in the padding
        ("ceil_drop", (1, 2, 5, 7), [2, 2], [2, 2], [1, 1], True),  # window past in+pad dropped
        ("default_stride", (2, 2, 7, 9), [2, 2], [0, 0], [0, 0], False),
        ("rect", (1, 3, 8, 11), [3, 2], [1, 2], [1, 0], False),
    ]
    for name, shape, k, s, p, ceil in geometries:
        x = randn(*shape, seed=len(paths) + 1)
        stride = None if s == [0, 0] else s
        params = {"kernel": k, "stride": s, "padding": p, "ceil_mode": ceil}
        paths.append(pool_case("max_pool2d", name,
                               lambda t: F.max_pool2d(t, k, stride, p, ceil_mode=ceil), x, params))
        for include in (True, False):
            paths.append(pool_case(
                "avg_pool2d", f"{name}_{'incl' if include else 'excl'}",
                lambda t: F.avg_pool2d(t, k, stride, p, ceil_mode=ceil, count_include_pad=include),
                x, dict(params, count_include_pad=include)))
    # Ties: integer-valued input, so windows hold equal maxima; the gradient goes to the first
    # maximum in row-major window order (PyTorch's CPU kernel keeps the first strictly greater).
    ties = torch.randint(0, 3, (1, 2, 9, 9), generator=torch.Generator().manual_seed(7)).float()
    paths.append(pool_case("max_pool2d", "ties", lambda t: F.max_pool2d(t, 3, 2, 1), ties,
                           {"kernel": [3, 3], "stride": [2, 2], "padding": [1, 1],
                            "ceil_mode": False}))
    x64 = randn(2, 2, 9, 8, seed=20, dtype=torch.float64)
    params = {"kernel": [3, 3], "stride": [2, 2], "padding": [1, 1], "ceil_mode": True}
    paths.append(pool_case("max_pool2d", "f64", lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True),
                           x64, params))
    paths.append(pool_case("avg_pool2d", "f64",
                           lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True,
                                                  count_include_pad=False),
                           x64, dict(params, count_include_pad=False)))
    # Adaptive bins: PSPNet's 1/2/3/6 from 13×17 (overlapping bins), rectangular, out > in.
    x = randn(2, 3, 13, 17, seed=30)
    for out in ([1, 1], [2, 2], [3, 3], [6, 6], [5, 4]):
        paths.append(pool_case("adaptive_avg_pool2d", f"{out[0]}x{out[1]}",
                               lambda t: F.adaptive_avg_pool2d(t, out), x, {"out": out}))
    small = randn(1, 2, 7, 6, seed=31)  # out > in: bins repeat input elements
    paths.append(pool_case("adaptive_avg_pool2d", "up_16x13",
                           lambda t: F.adaptive_avg_pool2d(t, [16, 13]), small, {"out": [16, 13]}))
    paths.append(pool_case("adaptive_avg_pool2d", "f64_6x6",
                           lambda t: F.adaptive_avg_pool2d(t, [6, 6]), x64, {"out": [6, 6]}))
    return paths
