"""Issue 32, item 2: what each speed option (``evaluation.Speed``) buys and what it changes.

    python benchmarks/speed_options.py [--device cpu] [--models dncnn_s25] [--images 4] [--crop 96]
                                       [--steps 5] [--rounds 3] [--options channels_last compile bf16 ...]

Per model, denoising-PGD (T = ``--steps``, eps 0.012) on ``--images`` Set12 crops, float32 against
each option in interleaved rounds (``timing.measure``), every case at the chunk float32 measured
(so the option alone differs; under ``compile`` the warm-up round compiles). Printed per option:
the speed-up (float32 time / the option's, round by round), the change of the attacked PSNR
(mean over images of PSNR(D(x'_option)) - PSNR(D(x'_float32)), both scored in float32; its largest
|per-image| value beside it), and the change of a plain denoising PSNR scored with the option.
Options: CPU ``channels_last``, ``compile``, ``bf16`` (where the CPU has native bfloat16); CUDA
also ``tf32`` and ``cudnn_benchmark``. The last line says whether bf16 stays within 0.05 dB of
float32 on DnCNN-S, the condition on which it is offered.
"""

import argparse

import numpy as np
import torch
from timing import measure, ratio

from companion import config, data, evaluation, models, noise
from companion.attacks import denoising_pgd
from companion.evaluation import Speed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", nargs="+", default=["dncnn_s25"])
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--crop", type=int, default=96)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--options", nargs="+", default=None, help="default: those this device offers")
    args = parser.parse_args()
    device = config.device(args.device)
    offered = ["channels_last", "compile"] + (["bf16"] if evaluation.native_bf16(device) else [])
    offered += ["tf32", "cudnn_benchmark"] if device.type == "cuda" else []
    options = args.options or offered
    clean = data.load("set12", limit=args.images, crop=args.crop, device=device).images
    x = noise.gaussian(clean, 25)
    print(f"denoising-PGD T = {args.steps} on {args.images} Set12 crops of {args.crop}px, {device} "
          f"({torch.get_num_threads()} threads); medians (min-max) over {args.rounds} interleaved rounds\n")
    print("| model | option | speed-up | attacked PSNR change, mean (max abs) dB | denoising PSNR change, mean dB |")
    print("|---|---|---|---|---|")
    bf16_gap = None
    for name in args.models:
        model = models.create(name, device=device)
        denoising_pgd(model, x, clean, steps=1)  # the chunk probe
        chunk = evaluation.chunk_of(model, x, Speed(), "attack", probe=None)
        speeds = {"float32": Speed(chunk=chunk), **{o: Speed(chunk=chunk, **{o: True}) for o in options}}
        t = measure({o: (lambda s=s: denoising_pgd(model, x, clean, steps=args.steps, speed=s))
                     for o, s in speeds.items()}, args.rounds, device)
        reference = denoising_pgd(model, x, clean, steps=args.steps, speed=speeds["float32"])
        attacked = evaluation.denoised_psnr(model, reference, clean)
        plain = evaluation.denoised_psnr(model, x, clean)
        for option in options:
            adv = denoising_pgd(model, x, clean, steps=args.steps, speed=speeds[option])
            change = evaluation.denoised_psnr(model, adv, clean) - attacked
            scored = evaluation.denoised_psnr(model, x, clean, speed=speeds[option]) - plain
            if option == "bf16" and name == "dncnn_s25":
                bf16_gap = np.abs(change).max()
            print(f"| {name} | {option} | {ratio(t['float32'], t[option])} | {change.mean():+.4f} "
                  f"({np.abs(change).max():.4f}) | {scored.mean():+.4f} |", flush=True)
    if bf16_gap is not None:
        print(f"\nbf16 on DnCNN-S: the attacked PSNR moves by at most {bf16_gap:.4f} dB per image: "
              f"{'within' if bf16_gap <= 0.05 else 'NOT within'} 0.05 dB, so bf16 "
              f"{'is' if bf16_gap <= 0.05 else 'must not be'} offered")


if __name__ == "__main__":
    main()
