"""Fixtures of conv2d: torch.nn.functional.conv2d forward and the three gradients (input,
weight, bias) over stride, padding (ph != pw), dilation (incl. ASPP-style 12 with
padding = dilation), groups, depthwise (channel multiplier 1 and 2), 1x1 and float64."""
import torch
import torch.nn.functional as F

from refgen import forward_backward, randn, save

# name: (x shape, weight shape, stride, padding, dilation, groups, bias, dtype)
CASES = {
    "odd_p1_bias": ((2, 3, 7, 9), (4, 3, 3, 3), (1, 1), (1, 1), (1, 1), 1, True, torch.float32),
    "odd_k3x2_p0_nobias": ((2, 3, 7, 9), (5, 3, 3, 2), (1, 1), (0, 0), (1, 1), 1, False,
                           torch.float32),
    "stride2_p1": ((2, 4, 9, 11), (6, 4, 3, 3), (2, 2), (1, 1), (1, 1), 1, True, torch.float32),
    "stride1x2_pad2x1_k3x5": ((1, 3, 8, 7), (4, 3, 3, 5), (1, 2), (2, 1), (1, 1), 1, True,
                              torch.float32),
    "pad2_stride3": ((2, 2, 10, 9), (3, 2, 3, 3), (3, 3), (2, 2), (1, 1), 1, False, torch.float32),
    "conv1_k7_s2_p3": ((1, 3, 15, 13), (4, 3, 7, 7), (2, 2), (3, 3), (1, 1), 1, False,
                       torch.float32),
    "dilation2_p2": ((2, 3, 10, 9), (4, 3, 3, 3), (1, 1), (2, 2), (2, 2), 1, True, torch.float32),
    "dilation2x3_p1x4": ((1, 2, 9, 11), (3, 2, 3, 3), (1, 1), (1, 4), (2, 3), 1, True,
                         torch.float32),
    "aspp_dilation12": ((1, 4, 13, 15), (3, 4, 3, 3), (1, 1), (12, 12), (12, 12), 1, False,
                        torch.float32),
    "groups2_p1": ((2, 4, 7, 8), (6, 2, 3, 3), (1, 1), (1, 1), (1, 1), 2, True, torch.float32),
    "groups3_s2_nobias": ((1, 6, 9, 7), (9, 2, 3, 3), (2, 2), (1, 1), (1, 1), 3, False,
                          torch.float32),
    "depthwise_m1_p1": ((2, 5, 9, 8), (5, 1, 3, 3), (1, 1), (1, 1), (1, 1), 5, True,
                        torch.float32),
    "depthwise_m2_s2": ((2, 3, 8, 9), (6, 1, 3, 3), (2, 2), (1, 1), (1, 1), 3, False,
                        torch.float32),
    "depthwise_d2_p2": ((1, 4, 11, 10), (4, 1, 3, 3), (1, 1), (2, 2), (2, 2), 4, True,
                        torch.float32),
    "depthwise_d12_p12": ((1, 3, 14, 13), (3, 1, 3, 3), (1, 1), (12, 12), (12, 12), 3, False,
                          torch.float32),
    "pointwise_1x1_bias": ((2, 6, 5, 7), (4, 6, 1, 1), (1, 1), (0, 0), (1, 1), 1, True,
                           torch.float32),
    "pointwise_1x1_groups2": ((2, 6, 5, 7), (4, 3, 1, 1), (1, 1), (0, 0), (1, 1), 2, False,
                              torch.float32),
    "downsample_1x1_s2": ((2, 4, 7, 9), (5, 4, 1, 1), (2, 2), (0, 0), (1, 1), 1, False,
                          torch.float32),
    "f64_s2_p1_bias": ((2, 3, 6, 7), (4, 3, 3, 3), (2, 2), (1, 1), (1, 1), 1, True,
                       torch.float64),
    "f64_depthwise_m2": ((1, 2, 7, 6), (4, 1, 3, 3), (1, 1), (2, 2), (2, 2), 2, True,
                         torch.float64),
}


def generate():
    paths = []
    for i, (name, (xs, ws, s, p, d, g, has_bias, dt)) in enumerate(CASES.items()):
        x = randn(*xs, seed=10 + 3 * i, dtype=dt)
        w = randn(*ws, seed=11 + 3 * i, dtype=dt) * (1.0 / (ws[1] * ws[2] * ws[3])) ** 0.5
        b = randn(ws[0], seed=12 + 3 * i, dtype=dt) if has_bias else None
        fn = lambda x, w, b: F.conv2d(x, w, b, stride=s, padding=p, dilation=d, groups=g)
        out, grad_out, (gx, gw, gb) = forward_backward(fn, [x, w, b])
        tensors = {"x": x, "weight": w, "out": out, "grad_out": grad_out, "grad_x": gx,
                   "grad_weight": gw}
        if has_bias:
            tensors.update(bias=b, grad_bias=gb)
        paths.append(save("conv2d", name, tensors,
                          {"stride": list(s), "padding": list(p), "dilation": list(d),
                           "groups": g, "bias": has_bias}))
    return paths
