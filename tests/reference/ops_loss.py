"""Fixtures of the losses: cross_entropy, kl_div (pixel-wise distillation), mse.

cross_entropy: 2×5×7×9 logits with ~20% of the pixels at ignore_index 255, an N×C case, a
custom ignore_index (-100, PyTorch's default), float64, and an all-ignored case where PyTorch
gives NaN and the engine, by design (engine/ops/loss.h), 0 with a zero gradient: that case's
expected values are written here by hand, not taken from torch.
kl_div: tau^2 · mean over pixels of Σ_c KL, as F.kl_div(log_softmax(s/τ), log_softmax(t/τ),
log_target=True, reduction='none').sum(1).mean() · τ², at τ = 1 and τ = 4 (the τ² scaling),
N×C and float64; gradients for both arguments.
"""
import torch
import torch.nn.functional as F

from refgen import forward_backward, randn, save


def labels_for(shape, classes, seed, ignore_frac=0.2, ignore_index=255):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, shape, generator=g)
    drop = torch.rand(shape, generator=g) < ignore_frac
    return torch.where(drop, torch.full_like(y, ignore_index), y)


def ce_case(name, x, y, ignore_index=255):
    fn = lambda a: F.cross_entropy(a, y, ignore_index=ignore_index)
    out, grad_out, (gx,) = forward_backward(fn, [x])
    return save("cross_entropy", name, {"logits": x, "labels": y, "out": out, "grad_out": grad_out,
                                        "grad_logits": gx}, {"ignore_index": ignore_index})


def kl_ref(t, s, tau):
    return F.kl_div(F.log_softmax(s / tau, 1), F.log_softmax(t / tau, 1), log_target=True,
                    reduction="none").sum(1).mean() * tau ** 2


def kl_case(name, t, s, tau):
    out, grad_out, (gt, gs) = forward_backward(lambda a, b: kl_ref(a, b, tau), [t, s])
    return save("kl_div", name, {"teacher": t, "student": s, "out": out, "grad_out": grad_out,
                                 "grad_teacher": gt, "grad_student": gs}, {"tau": tau})


def generate():
    paths = []
    x = randn(2, 5, 7, 9, seed=31) * 3
    y = labels_for((2, 7, 9), 5, seed=32)
    paths.append(ce_case("nchw_ignore", x, y))
    paths.append(ce_case("nc", randn(6, 5, seed=33) * 3, labels_for((6,), 5, 34, 0.0)))
    y100 = labels_for((2, 7, 9), 5, seed=35, ignore_index=-100)
    paths.append(ce_case("ignore_m100", x, y100, ignore_index=-100))
    paths.append(ce_case("f64", randn(2, 4, 3, 5, seed=36, dtype=torch.float64) * 3,
                         labels_for((2, 3, 5), 4, seed=37)))
    big = randn(2, 5, 3, 4, seed=38) * 40  # log-sum-exp must subtract the max
    paths.append(ce_case("large", big, labels_for((2, 3, 4), 5, 39, 0.1)))
    # All ignored: engine contract is 0 and zero gradient (torch: NaN).
    xa = randn(2, 3, 4, 5, seed=40)
    ya = torch.full((2, 4, 5), 255, dtype=torch.int64)
    paths.append(save("cross_entropy", "all_ignored",
                      {"logits": xa, "labels": ya, "out": torch.tensor(0.0),
                       "grad_out": torch.tensor(1.5), "grad_logits": torch.zeros_like(xa)},
                      {"ignore_index": 255, "torch_gives_nan": bool(
                          torch.isnan(F.cross_entropy(xa, ya, ignore_index=255)))}))

    t, s = randn(2, 5, 7, 9, seed=41) * 3, randn(2, 5, 7, 9, seed=42) * 3
    paths.append(kl_case("tau1", t, s, 1.0))
    paths.append(kl_case("tau4", t, s, 4.0))
    paths.append(kl_case("nc_tau2", randn(6, 5, seed=43) * 3, randn(6, 5, seed=44) * 3, 2.0))
    paths.append(kl_case("f64_tau3", randn(2, 4, 3, 5, seed=45, dtype=torch.float64) * 3,
                         randn(2, 4, 3, 5, seed=46, dtype=torch.float64) * 3, 3.0))

    for name, (a, b) in {"basic": (randn(2, 3, 5, 7, seed=51), randn(2, 3, 5, 7, seed=52)),
                         "f64": (randn(4, 9, seed=53, dtype=torch.float64),
                                 randn(4, 9, seed=54, dtype=torch.float64))}.items():
        out, grad_out, (ga, gb) = forward_backward(F.mse_loss, [a, b])
        paths.append(save("mse", name, {"a": a, "b": b, "out": out, "grad_out": grad_out,
                                        "grad_a": ga, "grad_b": gb}))
    return paths
