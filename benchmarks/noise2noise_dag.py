"""Notebook 08's models and attack, measured: each Noise2Noise U-Net (ours and Plummer & Hauser's)
on its own noise, DAG's PSNR ratio and its cost.

    python benchmarks/noise2noise_dag.py [--crops 100] [--rounds 3]

Per model: mean PSNR of the noisy and denoised 32x32 crops of CBSD68 (``dag_study.test_crops``,
test noise ``dag_study.TEST_NOISE``), the median PSNR ratio under DAG with the authors' settings
and the share within [0.95, 1.05], and the time of one DAG run on 8 crops per crop
(``timing.measure``: median, min-max of ``--rounds`` runs). Prints a Markdown table.
"""

import argparse

import numpy as np
from timing import measure, scaled

from companion import models
from companion.attacks import dag
from companion.attacks.dag import SETTINGS
from companion.experiments import noise2noise_dag as dag_study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crops", type=int, default=100)
    parser.add_argument("--rounds", "--repeats", type=int, default=3)
    args = parser.parse_args()
    clean = dag_study.test_crops(count=args.crops)
    names = models.list_models(collection="noise2noise") + [n for n in models.list_models() if n.startswith("n2n_ph_")]
    print("| model | noise | noisy PSNR | denoised PSNR | median DAG ratio | within [0.95, 1.05] | s per crop (DAG) |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        kind = models.spec(name).noise
        model = models.create(name)
        noisy = dag_study.corrupt(kind, clean)
        rows = dag_study.denoising_rows(model, clean, noisy)
        attacked, _, _ = dag_study.dag_rows(model, clean, noisy, kind)
        ratios = [r["ratio"] for r in attacked]
        seconds = scaled(measure({kind: lambda: dag(model, clean[:8], noisy[:8], **SETTINGS[kind])}, args.rounds)[kind],
                         1 / 8)
        print(f"| {name} | {kind} | {np.mean([r['noisy_psnr'] for r in rows]):.2f} | "
              f"{np.mean([r['denoised_psnr'] for r in rows]):.2f} | {np.median(ratios):.3f} | "
              f"{dag_study.ratio_shares(ratios)['within']:.0%} | {seconds} |")


if __name__ == "__main__":
    main()
