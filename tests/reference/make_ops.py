#!/usr/bin/env python3
"""Writes the reference fixtures of every engine op (issue: engine core).

Usage: python3 tests/reference/make_ops.py [family ...]
Each family is a module ops_<family>.py beside this file with a generate() function.
Developer-only: needs torch and safetensors from PyPI; the fixtures are committed.
"""
import glob
import importlib
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def main():
    torch.use_deterministic_algorithms(True)
    families = sys.argv[1:] or sorted(
        os.path.basename(p)[4:-3] for p in glob.glob(os.path.join(HERE, "ops_*.py")))
    for family in families:
        module = importlib.import_module(f"ops_{family}")
        paths = module.generate()
        print(f"{family}: {len(paths)} fixtures")


if __name__ == "__main__":
    main()
