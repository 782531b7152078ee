"""Fixtures of batch_norm2d, taken from nn.BatchNorm2d so the buffers' updates (running stats
with the unbiased variance, num_batches_tracked) are those of the module smp's models use."""
import torch

from refgen import rand, randn, save


def bn_case(name, shape, training, affine=True, track=True, momentum=0.1, eps=1e-5,
            dtype=torch.float32, seed=1):
    c = shape[1]
    bn = torch.nn.BatchNorm2d(c, eps=eps, momentum=momentum, affine=affine,
                              track_running_stats=track).to(dtype)
    # Input off-centre and scaled, so normalisation does real work.
    x = (randn(*shape, seed=seed, dtype=dtype) * 1.7 + 0.6).detach()
    tensors = {}
    with torch.no_grad():
        if affine:
            bn.weight.copy_(rand(c, seed=seed + 1, low=0.5, high=1.5, dtype=dtype))
            bn.bias.copy_(randn(c, seed=seed + 2, dtype=dtype))
            tensors["weight"] = bn.weight.detach().clone()
            tensors["bias"] = bn.bias.detach().clone()
        if track:
            bn.running_mean.copy_(randn(c, seed=seed + 3, dtype=dtype) * 0.3)
            bn.running_var.copy_(rand(c, seed=seed + 4, low=0.5, high=2.0, dtype=dtype))
            bn.num_batches_tracked.fill_(5)
            tensors["running_mean"] = bn.running_mean.clone()
            tensors["running_var"] = bn.running_var.clone()
            tensors["num_batches_tracked"] = bn.num_batches_tracked.clone()
    bn.train(training)
    xl = x.clone().requires_grad_()
    out = bn(xl)
    grad_out = randn(*out.shape, seed=99, dtype=dtype)
    out.backward(grad_out)
    tensors.update({"x": x, "out": out, "grad_out": grad_out, "grad_x": xl.grad})
    if affine:
        tensors["grad_weight"] = bn.weight.grad
        tensors["grad_bias"] = bn.bias.grad
    if track:
        tensors["new_running_mean"] = bn.running_mean
        tensors["new_running_var"] = bn.running_var
        tensors["new_num_batches_tracked"] = bn.num_batches_tracked
    return save("batch_norm2d", name, tensors,
                {"training": training, "momentum": momentum, "eps": eps})


def generate():
    return [
        bn_case("train", (4, 3, 5, 7), True),
        bn_case("train_no_affine", (3, 4, 6, 5), True, affine=False, seed=10),
        bn_case("train_n1", (1, 4, 3, 5), True, seed=20),  # N = 1 but H·W > 1: allowed
        bn_case("train_no_running", (2, 3, 4, 3), True, track=False, seed=30),
        bn_case("train_momentum_eps", (2, 5, 3, 3), True, momentum=0.3, eps=1e-3, seed=40),
        bn_case("eval", (3, 3, 5, 4), False, seed=50),
        bn_case("eval_no_affine", (2, 4, 3, 5), False, affine=False, seed=60),
        bn_case("f64_train", (3, 2, 4, 5), True, dtype=torch.float64, seed=70),
        bn_case("f64_eval", (3, 2, 4, 5), False, dtype=torch.float64, seed=80),
    ]
