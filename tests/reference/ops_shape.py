"""Fixtures of concat and slice (torch.cat and Python slicing along one dim)."""
import torch

from refgen import forward_backward, randn, save


def concat_case(name, shapes, dim, dtype=torch.float32):
    xs = [randn(*s, seed=i + 1, dtype=dtype) for i, s in enumerate(shapes)]
    out, grad_out, grads = forward_backward(lambda *t: torch.cat(t, dim), xs)
    tensors = {"out": out, "grad_out": grad_out}
    for i, (x, g) in enumerate(zip(xs, grads)):
        tensors[f"x{i}"] = x
        tensors[f"grad_x{i}"] = g.clone()  # cat's gradients are views of grad_out
    return save("concat", name, tensors, {"dim": dim, "count": len(xs)})


def slice_case(name, shape, dim, start, end, dtype=torch.float32):
    x = randn(*shape, seed=9, dtype=dtype)
    index = [slice(None)] * len(shape)
    index[dim] = slice(start, end)
    out, grad_out, (grad_x,) = forward_backward(lambda t: t[tuple(index)], [x])
    return save("slice", name, {"x": x, "out": out, "grad_out": grad_out, "grad_x": grad_x},
                {"dim": dim, "start": start, "end": end})


def transpose_case(name, shape, d0, d1, dtype=torch.float32):
    x = randn(*shape, seed=11, dtype=dtype)
    out, grad_out, (grad_x,) = forward_backward(lambda t: t.transpose(d0, d1).contiguous(), [x])
    return save("transpose", name, {"x": x, "out": out, "grad_out": grad_out, "grad_x": grad_x},
                {"d0": d0, "d1": d1})


def one_hot_case(name, shape, classes, ignore=255):
    g = torch.Generator().manual_seed(5)
    y = torch.randint(0, classes, shape, generator=g)
    y[torch.rand(shape, generator=g) < 0.2] = ignore
    valid = torch.where(y == ignore, 0, y)
    out = torch.nn.functional.one_hot(valid, classes).movedim(-1, 1).float()
    out = out * (y != ignore).unsqueeze(1)
    return save("one_hot", name, {"labels": y, "out": out}, {"classes": classes, "ignore": ignore})


def generate():
    return [
        transpose_case("last2", (2, 3, 5), 1, 2),
        transpose_case("outer_mid", (2, 3, 4, 5), 0, 2),
        transpose_case("neg", (3, 4, 2, 2), -1, 1),
        transpose_case("f64", (4, 7), 0, 1, torch.float64),
        one_hot_case("nhw", (2, 5, 7), 4),
        one_hot_case("n", (9,), 3),
        concat_case("dim0", [(2, 3, 4, 5), (1, 3, 4, 5), (3, 3, 4, 5)], 0),
        concat_case("dim1", [(2, 1, 3, 4), (2, 3, 3, 4), (2, 2, 3, 4)], 1),
        concat_case("dim3", [(2, 3, 4, 1), (2, 3, 4, 5), (2, 3, 4, 2)], 3),
        concat_case("dim_neg1", [(3, 2), (3, 5), (3, 1)], -1),
        concat_case("f64_dim2", [(2, 2, 3, 3), (2, 2, 1, 3), (2, 2, 2, 3)], 2, torch.float64),
        slice_case("neg_dim", (2, 5, 7, 6), -2, 1, 5),
        slice_case("clamped_end", (2, 5, 7, 6), 1, 2, 100),
        slice_case("neg_start_end", (2, 5, 7, 6), 3, -4, -1),
        slice_case("dim0", (4, 3, 2, 2), 0, 1, 3),
        slice_case("f64_dim1", (2, 6, 3, 4), 1, 0, 2, torch.float64),
    ]
