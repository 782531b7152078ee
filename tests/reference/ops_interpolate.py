"""Fixtures of bilinear resizing: F.interpolate(mode='bilinear') by size and by scale factor."""
import torch
import torch.nn.functional as F

from refgen import forward_backward, randn, save


def resize_case(name, x, params, **kwargs):
    fn = lambda t: F.interpolate(t, mode="bilinear", **kwargs)
    out, grad_out, (grad_x,) = forward_backward(fn, [x])
    return save("interpolate_bilinear", name,
                {"x": x, "out": out, "grad_out": grad_out, "grad_x": grad_x}, params)


def generate():
    paths = []
    cases = [
        # (name, input shape, size or None, scale or None)
        ("down_64to33", (1, 2, 64, 5), [33, 7], None),  # H down 64 -> 33, W up 5 -> 7
        ("up_13x17to32", (1, 1, 13, 17), [32, 32], None),
        ("down_odd", (2, 1, 11, 9), [4, 5], None),
        ("to_1x1", (1, 2, 5, 6), [1, 1], None),
        ("scale_x4", (1, 1, 7, 9), None, [4.0, 4.0]),  # smp's UpsamplingBilinear2d(4): ac=True
        ("scale_x2p5", (1, 2, 5, 7), None, [2.5, 2.5]),
        ("scale_half", (1, 2, 15, 11), None, [0.5, 0.5]),  # downsampling by scale: 1/s, not in/out
        ("scale_same_size", (1, 2, 3, 5), None, [1.3, 1.3]),  # 3 -> 3 copies, 5 -> 6
    ]
    seed = 1
    for name, shape, size, scale in cases:
        for ac in (False, True):
            x = randn(*shape, seed=seed)
            seed += 1
            params = {"align_corners": ac}
            if size is not None:
                params["size"] = size
                kwargs = {"size": size}
            else:
                params["scale_h"], params["scale_w"] = scale
                kwargs = {"scale_factor": scale}
            paths.append(resize_case(f"{name}_ac{int(ac)}", x, params, align_corners=ac, **kwargs))
    x64 = randn(2, 2, 6, 5, seed=40, dtype=torch.float64)
    paths.append(resize_case("f64_size_ac0", x64, {"align_corners": False, "size": [9, 13]},
                             size=[9, 13], align_corners=False))
    paths.append(resize_case("f64_scale_ac1", x64, {"align_corners": True, "scale_h": 1.5,
                                   "scale_w": 2.0},
                             scale_factor=[1.5, 2.0], align_corners=True))
    return paths
