import subprocess
import sys
from pathlib import Path

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


def test_import_is_light_and_the_zoo_reaches_timm_in_either_order():
    """``import companion`` loads neither torch nor timm; the zoo is registered with timm whether
    timm is imported after companion or before it (the shim is run by path there: timm imports
    torchvision, which a CPU-only torch cannot load without it)."""
    after = ("import sys, companion; assert 'torch' not in sys.modules and 'timm' not in sys.modules; "
             "import timm; print(timm.create_model('dncnn_b').info['name'])")
    before = ("import runpy; runpy.run_path('companion/_compat.py'); "
              "import timm, companion; print(','.join(timm.list_models('*dncnn_s*')[:3]), "
              "','.join(timm.list_models('dncnn_s25', pretrained=True)))")
    for code, expected in ((after, "dncnn_b"),
                           (before, "dncnn_s15,dncnn_s25,dncnn_s25_hat1 dncnn_s25.official,dncnn_s25.ours")):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                             cwd=Path(__file__).resolve().parent.parent)
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.strip() == expected
