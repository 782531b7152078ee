"""Fixtures of the optimizers and LR schedules (torch.optim, single-tensor path).

optim__<case>: two parameters p0 (3, 5) and p1 (7) in two param groups (own lr and weight
decay), 5 steps with fixed per-step gradients grads0/grads1 (5, ...); traj0/traj1 hold the
parameters after each step. p1 has no gradient at the steps listed in `skip1` (torch skips it:
its state does not advance). state0_<name> is p0's optimizer state after the last step.
lr_schedule__<case>: lr (float64, one per step) from torch.optim.lr_scheduler.
nn_layers__<case>: a small torch.nn network (the engine's nn layers, read by
tests/engine/layers_test.cpp): its state_dict ("sd.<key>", key order in metadata `keys`), an
input x, the train-mode output, input/parameter gradients ("grad.<key>") of sum(y * grad_out),
the running statistics after that forward ("after.<key>") and the eval-mode output after it.
"""
import math
import warnings

import torch
from torch.optim import lr_scheduler as L

from refgen import randn, save

STEPS = 5


def optim_case(name, make, params, dtype=torch.float32, skip1=()):
    p0 = randn(3, 5, seed=11, dtype=dtype)
    p1 = randn(7, seed=12, dtype=dtype)
    g0 = randn(STEPS, 3, 5, seed=13, dtype=dtype)
    g1 = randn(STEPS, 7, seed=14, dtype=dtype) * 0.5
    w0 = torch.nn.Parameter(p0.clone())
    w1 = torch.nn.Parameter(p1.clone())
    opt = make([{"params": [w0], "lr": params["lr0"], "weight_decay": params["wd0"]},
                {"params": [w1], "lr": params["lr1"], "weight_decay": params["wd1"]}])
    t0, t1 = [], []
    for s in range(STEPS):
        w0.grad = g0[s].clone()
        w1.grad = None if s in skip1 else g1[s].clone()
        opt.step()
        t0.append(w0.detach().clone())
        t1.append(w1.detach().clone())
    tensors = {"p0": p0, "p1": p1, "grads0": g0, "grads1": g1,
               "traj0": torch.stack(t0), "traj1": torch.stack(t1)}
    for k, v in opt.state[w0].items():
        if k != "step":
            tensors["state0_" + k] = v
    params = dict(params, skip1=list(skip1), step0=int(opt.state[w0]["step"]) if "step" in opt.state[w0] else 0)
    return save("optim", name, tensors, params)


def schedule_case(name, make, params, steps=14, base=0.1):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base)
    sched = make(opt)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return save("lr_schedule", name, {"lr": torch.tensor(lrs, dtype=torch.float64)},
                dict(params, base=base))


def layers_case(name, net, x):
    sd = {k: v.clone() for k, v in net.state_dict().items()}
    keys = list(sd)
    net.train()
    xl = x.clone().requires_grad_()
    y = net(xl)
    grad_out = randn(*y.shape, seed=21, dtype=y.dtype)
    y.backward(grad_out)
    tensors = {"x": x, "y_train": y.detach(), "grad_out": grad_out, "grad_x": xl.grad}
    tensors.update({"sd." + k: v for k, v in sd.items()})
    tensors.update({"grad." + k: p.grad for k, p in net.named_parameters()})
    tensors.update({"after." + k: v.clone() for k, v in net.named_buffers()})
    net.eval()
    with torch.no_grad():
        tensors["y_eval"] = net(x)
    return save("nn_layers", name, tensors, {"keys": keys})


def layers_fixtures():
    nn = torch.nn
    torch.manual_seed(5)
    conv_net = nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Sequential(nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=2)),
        nn.BatchNorm2d(4, eps=1e-3, momentum=0.3),
        nn.ReLU6(),
        nn.Identity(),
        nn.Dropout(0.0),
        nn.Conv2d(4, 2, 1),
    )
    paths = [layers_case("conv_bn", conv_net, randn(2, 3, 9, 7, seed=22) * 2)]
    torch.manual_seed(6)
    mlp = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3, bias=False))
    paths.append(layers_case("linear", mlp, randn(4, 6, seed=23)))
    return paths


def generate():
    warnings.simplefilter("ignore")  # lr_scheduler's epoch deprecation notes
    paths = []
    g = {"lr0": 0.1, "wd0": 0.0, "lr1": 0.05, "wd1": 0.0}
    sgd = lambda **kw: (lambda groups: torch.optim.SGD(groups, foreach=False, **kw))
    adam = lambda **kw: (lambda groups: torch.optim.Adam(groups, foreach=False, **kw))
    adamw = lambda **kw: (lambda groups: torch.optim.AdamW(groups, foreach=False, **kw))
    paths.append(optim_case("sgd_plain", sgd(), dict(g, kind="sgd")))
    paths.append(optim_case("sgd_momentum_wd", sgd(momentum=0.9),
                            dict(g, kind="sgd", momentum=0.9, wd0=1e-2, wd1=0.5), skip1=(2,)))
    paths.append(optim_case("sgd_nesterov", sgd(momentum=0.8, nesterov=True),
                            dict(g, kind="sgd", momentum=0.8, nesterov=True, wd0=1e-3)))
    paths.append(optim_case("sgd_dampening", sgd(momentum=0.9, dampening=0.3),
                            dict(g, kind="sgd", momentum=0.9, dampening=0.3)))
    paths.append(optim_case("adam", adam(), dict(g, kind="adam", lr0=1e-2, lr1=3e-3), skip1=(1, 3)))
    paths.append(optim_case("adam_wd", adam(betas=(0.8, 0.99), eps=1e-6),
                            dict(g, kind="adam", beta1=0.8, beta2=0.99, eps=1e-6, wd0=0.1,
                                 wd1=1e-2)))
    paths.append(optim_case("adamw_wd", adamw(), dict(g, kind="adamw", lr0=1e-2, wd0=0.1,
                                                      lr1=1e-3, wd1=0.5)))
    paths.append(optim_case("adam_f64", adam(), dict(g, kind="adam", lr0=1e-2, wd0=1e-2),
                            dtype=torch.float64))

    paths.append(schedule_case("poly", lambda o: L.PolynomialLR(o, total_iters=10, power=0.9),
                               {"kind": "poly", "total": 10, "power": 0.9}))
    paths.append(schedule_case("cosine", lambda o: L.CosineAnnealingLR(o, T_max=10, eta_min=1e-3),
                               {"kind": "cosine", "total": 10, "min": 1e-3}, steps=11))
    paths.append(schedule_case(
        "warmup_cosine",
        lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1, total_iters=4),
                                     L.CosineAnnealingLR(o, T_max=8, eta_min=1e-3)], milestones=[4]),
        {"kind": "cosine", "total": 8, "min": 1e-3, "warmup": 4, "start_factor": 0.1}, steps=13))
    paths.append(schedule_case(
        "warmup_poly",
        lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.25, total_iters=3),
                                     L.PolynomialLR(o, total_iters=9, power=0.9)], milestones=[3]),
        {"kind": "poly", "total": 9, "power": 0.9, "warmup": 3, "start_factor": 0.25}, steps=14))
    paths.append(schedule_case(
        "warmup_constant",
        lambda o: L.LinearLR(o, start_factor=0.5, total_iters=5),
        {"kind": "constant", "warmup": 5, "start_factor": 0.5}, steps=8))
    paths += layers_fixtures()
    return paths
