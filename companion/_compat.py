"""Make the CUDA-built torchvision wheel importable on a CPU-only torch.

Why this exists: torchvision 0.28.0 (the release that goes with torch 2.13.0) is published only
as a CUDA build. Its compiled operator library, ``torchvision/_C.so``, cannot be loaded by a
CPU-only torch, so the operators ``torchvision::nms`` and ``torchvision::qnms`` are never
declared. ``torchvision/_meta_registrations.py`` then registers meta kernels for them at import
time and fails with "operator torchvision::nms does not exist"; ``import timm`` fails with it.

What it does: before torchvision is imported, it tries to load that library exactly as
torchvision would. Only when the load fails does it declare the two missing schemas (with the
signatures torchvision's own C++ code registers), which lets the import go through. The
operators then have no kernel, so calling ``torchvision.ops.nms`` on such a setup raises;
this project never calls it. On a normal install the library loads and nothing is declared.
"""

import glob
import importlib.util
import os
import sys

import torch

_SCHEMAS = {
    "nms": "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}


def _declared(op: str) -> bool:
    return hasattr(torch.ops.torchvision, op)


def patch_torchvision() -> list:
    """Declare the missing torchvision operator schemas if (and only if) they are needed.

    Returns the names of the operators it declared (empty on a normal install).
    """
    if "torchvision" in sys.modules:
        return []
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return []
    libraries = glob.glob(os.path.join(spec.submodule_search_locations[0], "_C*.so")) + glob.glob(
        os.path.join(spec.submodule_search_locations[0], "_C*.pyd")
    )
    for library in libraries:
        try:
            torch.ops.load_library(library)
        except OSError:
            continue
    declared = []
    for op, schema in _SCHEMAS.items():
        if not _declared(op):
            torch.library.define(f"torchvision::{op}", schema)
            declared.append(op)
    return declared


DECLARED = patch_torchvision()
