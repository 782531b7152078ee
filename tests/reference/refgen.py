"""Shared helpers of the PyTorch reference generators (developer-only; CI runs no Python).

A fixture is tests/reference/fixtures/<op>__<case>.safetensors holding the inputs, outputs and
gradients of one case; scalar/list parameters go to the file's metadata as JSON. Gradients are
of sum(out * grad_out) for a random grad_out stored as `grad_out`, so every element of the
backward is exercised, not just a sum.
"""
import json
import os

import torch
from safetensors.torch import save_file

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def gen(seed):
    g = torch.Generator().manual_seed(seed)
    return g


def randn(*shape, seed=0, dtype=torch.float32):
    return torch.randn(tuple(shape), generator=gen(seed), dtype=torch.float64).to(dtype)


def rand(*shape, seed=0, low=0.0, high=1.0, dtype=torch.float32):
    return (low + (high - low) * torch.rand(tuple(shape), generator=gen(seed), dtype=torch.float64)).to(dtype)


def save(op, case, tensors, params=None):
    """Writes <op>__<case>.safetensors. tensors: name -> torch.Tensor; params: JSON-able dict."""
    os.makedirs(FIXTURES, exist_ok=True)
    out = {k: v.detach().contiguous().cpu() for k, v in tensors.items() if v is not None}
    meta = {k: json.dumps(v) for k, v in (params or {}).items()}
    path = os.path.join(FIXTURES, f"{op}__{case}.safetensors")
    save_file(out, path, metadata=meta)
    return path


def forward_backward(fn, inputs, seed=99):
    """Runs out = fn(*inputs), backward of sum(out * grad_out); returns (out, grad_out, grads)."""
    leaves = [x.detach().clone().requires_grad_(x.is_floating_point()) if x is not None else None
              for x in inputs]
    out = fn(*leaves)
    grad_out = randn(*out.shape, seed=seed, dtype=out.dtype)
    out.backward(grad_out)
    grads = [x.grad if x is not None and x.is_floating_point() else None for x in leaves]
    return out.detach(), grad_out, grads
