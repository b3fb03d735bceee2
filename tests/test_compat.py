import subprocess
import sys

import torch


def test_torchvision_and_timm_import_after_companion():
    code = ("import companion, torchvision, timm, torch; "
            "print(sorted(companion._compat.DECLARED)); "
            "print(hasattr(torch.ops.torchvision, 'nms'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    declared, has_nms = out.stdout.split("\n")[:2]
    assert has_nms == "True"
    # the shim declares both schemas exactly when the compiled library could not load
    assert declared in ("[]", "['nms', 'qnms']")


def test_shim_is_a_no_op_once_torchvision_is_imported():
    import torchvision  # noqa: F401

    from companion._compat import patch_torchvision

    assert patch_torchvision() == []


def test_cpu_torch_still_runs_torchvision_transforms():
    import torchvision.transforms.v2 as T

    x = torch.rand(1, 3, 8, 8)
    assert torch.equal(T.RandomHorizontalFlip(p=1.0)(x), x.flip(-1))
