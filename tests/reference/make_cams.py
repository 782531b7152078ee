#!/usr/bin/env python3
"""Reference Grad-CAM maps from the grad-cam package (1.5.x) for tests/xgd/cam_test.cpp.

Developer-only (pip install torch grad-cam safetensors); the fixtures are committed.
A small conv net stands in for a segmentation model: its weights are stored in the fixture
(a few KB), the C++ test builds the same layers and loads them by name. For each method the
fixture holds the raw map (the package's get_cam_image + ReLU, at the layer's resolution) and
the package's final map (min-max -> cv2 bilinear resize -> min-max).
Usage: python3 tests/reference/make_cams.py
"""
import json
import os

import numpy as np
import torch
from pytorch_grad_cam import EigenGradCAM, GradCAM, GradCAMPlusPlus, HiResCAM, LayerCAM
from pytorch_grad_cam.utils.image import scale_cam_image
from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection_with_sign_correction
from safetensors.torch import save_file

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


class TinySeg(torch.nn.Module):
    """stem (conv/2 + BN + ReLU) -> layer (conv + BN + ReLU) = target -> head 1x1 -> x2 up."""

    def __init__(self, classes=4):
        super().__init__()
        self.stem = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, 2, 1, bias=False),
                                        torch.nn.BatchNorm2d(8), torch.nn.ReLU())
        self.layer = torch.nn.Sequential(torch.nn.Conv2d(8, 6, 3, 1, 1, bias=False),
                                         torch.nn.BatchNorm2d(6), torch.nn.ReLU())
        self.head = torch.nn.Conv2d(6, classes, 1)

    def forward(self, x):
        z = self.head(self.layer(self.stem(x)))
        return torch.nn.functional.interpolate(z, scale_factor=2, mode="bilinear",
                                               align_corners=False)


class PredictedClassTarget:
    """Sum over pixels of the predicted class's logit (the engine's TargetKind::Predicted)."""

    def __init__(self, mask):
        self.mask = mask  # (K, H, W) one-hot of the argmax

    def __call__(self, output):
        return (output * self.mask).sum()


def main():
    torch.manual_seed(0)
    net = TinySeg()
    with torch.no_grad():  # non-trivial BN statistics so eval mode matters
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
    net.eval()
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits = net(x)
    masks = torch.nn.functional.one_hot(logits.argmax(1), logits.shape[1]).permute(0, 3, 1, 2)
    targets = [PredictedClassTarget(m.float()) for m in masks]

    tensors = {"weights." + k: v.detach().clone() for k, v in net.state_dict().items()}
    tensors["input"] = x
    tensors["logits"] = logits
    methods = {"gradcam": GradCAM, "gradcampp": GradCAMPlusPlus, "hirescam": HiResCAM,
               "eigengradcam": EigenGradCAM, "layercam": LayerCAM}
    for name, cls in methods.items():
        cam = cls(model=net, target_layers=[net.layer])
        final = cam(input_tensor=x, targets=targets)  # (N, H, W), post-processed
        acts = cam.activations_and_grads.activations[0].cpu().numpy()
        grads = cam.activations_and_grads.gradients[0].cpu().numpy()
        if name == "eigengradcam":
            # The package's SVD sign is arbitrary; the engine applies the package's own sign
            # correction (|min| > |max| -> flip), so the reference uses it too.
            raw = np.maximum(get_2d_projection_with_sign_correction(grads * acts), 0)
            final = scale_cam_image(scale_cam_image(raw, (16, 16)))
        else:
            raw = np.maximum(cam.get_cam_image(x, net.layer, targets, acts, grads, False), 0)
        tensors[f"{name}.raw"] = torch.from_numpy(np.ascontiguousarray(raw, dtype=np.float32))
        tensors[f"{name}.final"] = torch.from_numpy(np.ascontiguousarray(final, dtype=np.float32))
        if name == "gradcam":  # the same forward for every method: store them once
            tensors["grads"] = torch.from_numpy(grads)
            tensors["acts"] = torch.from_numpy(acts)
    path = os.path.join(FIXTURES, "cam__tinyseg.safetensors")
    save_file({k: v.contiguous() for k, v in tensors.items()}, path,
              metadata={"target_layer": json.dumps("layer")})
    print(path)


if __name__ == "__main__":
    main()
