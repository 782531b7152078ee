#!/usr/bin/env python3
"""The PyTorch peer of `xgd_bench step`: the same two training steps in PyTorch +
segmentation_models_pytorch, timed on the same device, written as JSON for
`xgd_bench step --peer FILE` (which prints `ratio <peer ms / our ms>`).

  train  DeepLabV3+ ResNet18: CE (ignore 255), backward, Adam
  xgd    + teacher DeepLabV3+ ResNet101 (eval, frozen): logits and Grad-CAM saliency at
         decoder.block1; L = CE + tau^2 KL(p_T || p_S) + MSE(saliency_T, saliency_S), the
         student's saliency differentiable in its activations with the channel weights held
         constant (the engine's first-order mode, xgd/cam.h) -- unlike the paper's code, whose
         saliency goes through numpy and carries no gradient.

Strict FP32 by default (TF32 off for matmul and cuDNN, the arithmetic of the engine's FP32
kernels); --tf32 measures PyTorch's default instead. Never a dependency of the build or the tests.

  python3 apps/xgd_bench/pytorch_peer.py --device cuda --size 512 --batch 8 --out peer.json
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F


def make(encoder, classes):
    import segmentation_models_pytorch as smp

    return smp.DeepLabV3Plus(encoder_name=encoder, encoder_weights=None, classes=classes)


def capture(module, graph_cut):
    """Stores the module's output; with graph_cut the output is replaced by a detached leaf
    that requires grad (the engine's nn::Capture(cut_graph=true) for the frozen teacher)."""
    store = {}

    def hook(_m, _inp, out):
        if graph_cut:
            out = out.detach().requires_grad_()
        store["a"] = out
        return out

    module.register_forward_hook(hook)
    return store


def gradcam_saliency(logits, acts, size):
    score = logits.max(1).values.sum()  # predicted class, summed over pixels and images
    grads = torch.autograd.grad(score, acts, retain_graph=True)[0]
    weights = grads.mean((2, 3), keepdim=True).detach()
    cam = F.relu((weights * acts).sum(1, keepdim=True))
    up = F.interpolate(cam, size=size, mode="bilinear", align_corners=False)
    lo = up.amin((2, 3), keepdim=True)
    hi = up.amax((2, 3), keepdim=True)
    return ((up - lo) / (hi - lo + 1e-7))[:, 0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--classes", type=int, default=21)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--tf32", action="store_true", help="PyTorch's default TF32 convolutions")
    ap.add_argument("--out", help="JSON file for xgd_bench step --peer")
    args = ap.parse_args()
    torch.backends.cudnn.allow_tf32 = args.tf32
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.benchmark = True
    dev = torch.device(args.device)
    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, args.size, args.size, device=dev)
    y = torch.randint(0, args.classes, (args.batch, args.size, args.size), device=dev)
    size = (args.size, args.size)

    student = make("resnet18", args.classes).to(dev).train()
    s_store = capture(student.decoder.block1, graph_cut=False)
    teacher = make("resnet101", args.classes).to(dev).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    t_store = capture(teacher.decoder.block1, graph_cut=True)
    opt = torch.optim.Adam(student.parameters(), lr=1e-4)

    def step_train():
        loss = F.cross_entropy(student(x), y, ignore_index=255)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()  # synchronises, as the engine's step reads its losses

    def step_xgd():
        with torch.enable_grad():
            zt = teacher(x)
            mt = gradcam_saliency(zt, t_store["a"], size).detach()
        zt = zt.detach()
        zs = student(x)
        seg = F.cross_entropy(zs, y, ignore_index=255)
        kl = F.kl_div(F.log_softmax(zs, 1), F.log_softmax(zt, 1), log_target=True,
                      reduction="none").sum(1).mean()
        sa = F.mse_loss(gradcam_saliency(zs, s_store["a"], size), mt)
        loss = seg + kl + sa
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    result = {"device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
              "torch": torch.__version__, "tf32": args.tf32, "batch": args.batch,
              "size": args.size}
    for name, fn in (("train", step_train), ("xgd", step_xgd)):
        for _ in range(2):
            fn()
        times = []
        for _ in range(args.reps):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        ms = 1e3 * statistics.median(times)
        peak = torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda" else 0
        result[name] = {"ms": ms, "peak_mib": peak}
        print(f"peer {name:5s} device {args.device} batch {args.batch} size {args.size} "
              f"ms {ms:.2f} img/s {1e3 * args.batch / ms:.1f} tf32 {int(args.tf32)}", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
