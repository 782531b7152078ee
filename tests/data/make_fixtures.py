#!/usr/bin/env python3
"""PyTorch reference values for the data layer's resampling (data/transforms.h):
F.interpolate(mode='bilinear', align_corners=False, antialias=False) on float32 images and
mode='nearest' on uint8 label maps, output size given. Writes tests/data/fixtures/resize.safetensors
with, per case, <case>.image (C, H, W) f32, <case>.bilinear (C, OH, OW) f32, <case>.label (H, W) u8,
<case>.nearest (OH, OW) u8. Run by developers (torch, safetensors); the file is committed.
"""
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

CASES = {  # name: (H, W, OH, OW)
    "up_7x5_to_13x11": (7, 5, 13, 11),
    "down_10x9_to_5x4": (10, 9, 5, 4),
    "double_8x8_to_16x16": (8, 8, 16, 16),
    "mixed_9x13_to_4x23": (9, 13, 4, 23),
    "identity_6x6": (6, 6, 6, 6),
    "mixed_5x7_to_3x14": (5, 7, 3, 14),
    "scale07_16x16_to_11x9": (16, 16, 11, 9),
    "to_1x1_3x3": (3, 3, 1, 1),
    "from_1x1_to_4x3": (1, 1, 4, 3),
    "scale15_12x10_to_18x15": (12, 10, 18, 15),
}


def main():
    g = torch.Generator().manual_seed(0)
    out = {}
    for name, (h, w, oh, ow) in CASES.items():
        img = torch.randint(0, 256, (3, h, w), generator=g).float()
        lab = torch.randint(0, 256, (h, w), generator=g).to(torch.uint8)
        bil = F.interpolate(img[None], size=(oh, ow), mode="bilinear", align_corners=False)[0]
        near = F.interpolate(lab[None, None].float(), size=(oh, ow), mode="nearest")[0, 0]
        out[f"{name}.image"] = img.contiguous()
        out[f"{name}.bilinear"] = bil.contiguous()
        out[f"{name}.label"] = lab.contiguous()
        out[f"{name}.nearest"] = near.to(torch.uint8).contiguous()
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "resize.safetensors")
    save_file(out, path)
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
