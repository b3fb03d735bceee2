"""The papers' claims that the notebooks check, and the one policy that says how far a check goes.

Each notebook records, for the claims it owns, whether its numbers agree with the claim, with the
evidence (our number beside the paper's); a claim no notebook has recorded shows as 'not run'.

The verdict policy (``judge``): a claim is judged *supported* or *contradicted* only on the papers'
data (a benchmark set, not the embedded fallback) with the papers' models (their official weights,
or a classical method, which has none). Where the evidence rests on fallback images, on one of our
CPU-trained stand-ins (or weights from a file), or on the ``smoke`` profile's one or two tiny
images, the claim is *indicative*: the check ran and its direction is kept (``leaning``), with the
reason, but it is not a verdict. A claim that quotes a published figure on a named set
(``kind='figure'``) cannot even lean on other evidence: it is 'not run', with the reason.
"""

from dataclasses import dataclass
from typing import Callable

STATUSES = ("supported", "contradicted", "indicative", "not run")


@dataclass(frozen=True)
class Claim:
    """A claim of a paper: ``kind`` 'finding' (a comparison any run can lean on) or 'figure' (a
    published number on a named set, judged only on that set with the paper's model)."""

    id: str
    notebook: str
    source: str
    text: str
    kind: str = "finding"


CLAIMS = {c.id: c for c in [
    Claim("dncnn_s25_set12", "00_quickstart", "Zhang et al. 2017, Table II",
          "The official DnCNN-S (sigma 25) reaches 30.44 dB mean PSNR on Set12 at sigma 25.", "figure"),
    Claim("ffdnet_gray_set12", "00_quickstart", "Zhang et al. 2018, Table III",
          "The official FFDNet (gray) reaches 30.43 dB mean PSNR on Set12 at sigma 25.", "figure"),
    Claim("attack_every_model_drops", "01_attack", "Ning et al., Sec. IV-B, Table III",
          "denoising-PGD lowers the PSNR of every deep denoiser (DMR < 0 for all)."),
    Claim("blind_drops_more_than_dncnn", "01_attack", "Ning et al., Tables I-III",
          "DnCNN-B drops more under attack than DnCNN-S."),
    Claim("nonblind_most_robust", "01_attack", "Ning et al., Sec. IV-B, Table III",
          "Non-blind models are the most robust and blind models the least (mean DMR by family)."),
    Claim("not_a_noise_level_shift", "01_attack", "Ning et al., Sec. IV-A",
          "Fresh Gaussian noise with the adversarial noise's standard deviation hurts far less than the "
          "adversarial noise: the drop is not a shift of noise level."),
    Claim("noisy_attack_beats_clean_attack", "01_attack", "Ning et al., Sec. V-A, Figure 12",
          "Attacking the noisy image hurts more than attacking the clean image at matched noise "
          "standard deviation."),
    Claim("dncnn_transfers_to_every_model", "02_transfer", "Ning et al., Sec. IV-C, Table IV",
          "Adversarial samples made on DnCNN lower the PSNR of every other denoiser, by more than "
          "the same perturbation with its pixels shuffled."),
    Claim("dncnn_b_transfers_to_blind", "02_transfer", "Ning et al., Sec. IV-C, Table V",
          "Samples made on DnCNN-B transfer strongly to blind models and weakly to non-blind, "
          "plug-and-play and unfolding ones (mean drop by target family)."),
    Claim("color_transfer_weaker", "02_transfer", "Ning et al., Sec. IV-E, Table VII",
          "Transfer between color models is weaker than between gray models (median ratio of a "
          "target's drop to the source's own drop)."),
    Claim("pnp_most_sensitive_to_dncnn", "02_transfer", "Ning et al., Sec. IV-C, Table IV",
          "Of FFDNet, DnCNN-B and DPIR, the plug-and-play DPIR drops most on DnCNN's adversarial samples."),
    Claim("regions_in_30_150", "03_similitude", "Ning et al., Sec. IV-D, Figures 4 and 5",
          "Every model's adversarial region on the circle of eq. 4 lies near 30-150 degrees "
          "(at least 80 % of its angles)."),
    Claim("regions_image_independent", "03_similitude", "Ning et al., Sec. IV-D, Figure 4",
          "The adversarial regions are nearly the same on every image (mean Jaccard >= 0.7)."),
    Claim("dmrs_nonblind_high_blind_low", "03_similitude", "Ning et al., Sec. IV-D, Table VI",
          "DMRS is high (> 0.8) among non-blind models and between hybrid and non-blind models, and "
          "low (about 0.5; here < 0.7) between non-blind and blind ones."),
    Claim("combinations_stay_adversarial", "03_similitude", "Ning et al., Sec. III-E, Figure 6",
          "Linear combinations of two adversarial samples (eq. 8) are still adversarial."),
    Claim("at_cuts_the_drop", "04_adversarial_training", "Ning et al., Sec. IV-F, Table VIII",
          "Adversarial training with denoising-PGD samples mixed 1:1 cuts DnCNN's PSNR drop under the attack "
          "from about 0.8 dB to about 0.1 dB (here: below 0.25 dB and below 30 % of the drop before)."),
    Claim("at_keeps_clean_denoising", "04_adversarial_training", "Ning et al., Sec. IV-F, Table VIII",
          "Adversarial training does not lower DnCNN's Gaussian denoising (here: within 0.05 dB)."),
    Claim("hat_costs_little_clean", "04_adversarial_training", "Yan et al., Sec. 4, Table 2",
          "HAT lowers Gaussian denoising a little against normal training (here: by 0 to 0.5 dB)."),
    Claim("hat_beats_vat_and_nt", "04_adversarial_training", "Yan et al., Sec. 4, Table 2",
          "Under OBSATK, HAT-trained denoisers beat vAT- and normally trained ones at every budget."),
    Claim("robustness_not_masked", "04_adversarial_training", "our check (Madry et al. 2018; Athalye et al. 2018)",
          "The adversarially trained DnCNN's robustness is not gradient masking: under the strongest attack "
          "(more steps, random restarts) its drop stays below the untrained model's, and it grows from T = 5 "
          "by no larger a factor than the untrained model's drop does."),
    Claim("bm3d_resists_transfer", "05_bm3d", "Ning et al., Sec. V-B, Figure 13",
          "BM3D hardly notices DnCNN-S's adversarial samples: its PSNR changes by under 0.25 dB (paper: 0.06 and "
          "0.22 dB on two images) while DnCNN-S drops by about 0.9 dB (here: BM3D's mean change under 0.25 dB "
          "and under a quarter of DnCNN-S's drop)."),
    Claim("classical_resist_whitebox", "05_bm3d", "our check (Athalye et al. 2018; Uesato et al. 2018)",
          "BM3D and TV stay resistant when they are attacked themselves: under BPDA (identity or DnCNN gradients) "
          "and the gradient-free SPSA at the same budget, each loses less than half of what denoising-PGD takes "
          "from DnCNN-S."),
    Claim("learned_purifier_broken", "05_bm3d", "Athalye et al. 2018; Plummer & Hauser, Sec. 4",
          "A learned denoiser (DnCNN-B) used as an adversarial purifier gives a false sense of security: PGD "
          "through the purifier leaves the classifier at most half the accuracy it keeps under PGD that ignores "
          "the purifier, at every budget."),
    Claim("l2_noise_closer_to_gaussian", "06_l2_variant", "Ning et al., Sec. V-D, Figure 14",
          "The noise of L2-denoising-PGD is closer to the Gaussian noise than denoising-PGD's "
          "(Wasserstein distance 0.0017 vs 0.0024)."),
    Claim("l2_attack_still_drops", "06_l2_variant", "Ning et al., Sec. V-D, Figure 15",
          "L2-denoising-PGD still lowers DnCNN's PSNR by most of what denoising-PGD does (about 0.8 vs "
          "1.06 dB; here: more than half)."),
    Claim("obsatk_degrades_dncnn_b", "06_l2_variant", "Yan et al., Table 1",
          "OBSATK degrades DnCNN-B by several dB (Set12 at 15/255: 32.78 -> 26.25 under Atk-7/255; "
          "here: at least 2 dB)."),
    Claim("blind_deblurring_most_susceptible", "07_deblurring", "Gandikota et al., Sec. 4, Table 1",
          "The blind end-to-end network (MPRNet) is the most susceptible: its untargeted PSNR drop is the largest "
          "of the networks (mean over the eps)."),
    Claim("nonblind_resist_targeted", "07_deblurring", "Gandikota et al., Sec. 4, Table 1 and Figure 2",
          "Non-blind networks resist targeted content changes better than the blind one: at every eps each "
          "non-blind output stays less similar to the target (NCC) than the blind network's."),
    Claim("larger_kernels_easier", "07_deblurring", "Gandikota et al., Sec. 4, Figure 7",
          "Larger blur kernels make targeted attacks easier: the attacked output's PSNR to the target grows from "
          "the smallest to the largest kernel (mean over the networks)."),
    Claim("wiener_unstable_untargeted", "07_deblurring", "Gandikota et al., Sec. 4, Table 1 and Figure 6",
          "Even non-blind deep Wiener deconvolution is unstable under untargeted attacks: at every eps the "
          "output moves more than the input perturbation (||N(y') - N(y)|| / ||y' - y|| > 1) and loses at least "
          "1 dB."),
    Claim("n2n_l0_best_for_impulse", "08_noise2noise_dag", "Plummer & Hauser, Sec. 3; Lehtinen et al., Sec. 3.3",
          "Noise2Noise trained with the annealed L0 loss recovers impulse-corrupted images better than the same "
          "U-Net trained with L2 or L1 (mean PSNR on the test crops at p = 0.2)."),
    Claim("dag_gaussian_least_impulse_most", "08_noise2noise_dag", "Plummer & Hauser, Sec. 4, Figure 34",
          "Under DAG the Gaussian Noise2Noise model is the least susceptible and the impulse model the most "
          "(median PSNR ratio of the denoised noisy over the denoised adversarial image; paper: about 29 % of the "
          "Gaussian model's ratios within [0.95, 1.05])."),
    Claim("dag_noise_resembles_training_noise", "08_noise2noise_dag", "Plummer & Hauser, Sec. 4, Figures 31 and 33",
          "The adversarial noise DAG finds resembles the noise the model was trained on: scaled to unit standard "
          "deviation, its values are closer (Wasserstein distance) to that noise than to either other noise type."),
    Claim("hat_generalizes_real_noise", "10_real_noise", "Yan et al., Sec. 4.3, Table 4",
          "HAT generalizes to real noise better than NT and vAT: color DnCNNs trained on Gaussian noise alone denoise "
          "real camera noise (PolyU) best when trained with HAT (mean PSNR above both; paper: 37.82 against 35.86 and "
          "36.77 dB)."),
]}

CHECKS: dict = {}  # claim id -> its check, registered by the experiment that owns the claim


def claim(claim_id: str) -> Claim:
    if claim_id not in CLAIMS:
        raise ValueError(f"unknown claim {claim_id!r}; registered: {', '.join(sorted(CLAIMS))}")
    return CLAIMS[claim_id]


def check(claim_id: str) -> Callable:
    """Register the decorated function as the check of claim ``claim_id``: it takes what the
    notebook measured and returns ``(agrees, evidence)``, ``agrees`` True, False or None (not
    checkable, ``evidence`` says why). The experiment module that owns the claim declares it, so
    thresholds and the paper's numbers live beside the code that measures, never in a notebook."""
    claim(claim_id)

    def register(fn: Callable) -> Callable:
        CHECKS[claim_id] = fn
        return fn
    return register


def run_check(claim_id: str, *measured, **options) -> tuple:
    """``(agrees, evidence)`` from the registered check of ``claim_id``."""
    c = claim(claim_id)
    if claim_id not in CHECKS:
        raise ValueError(f"claim {claim_id!r} has no registered check: import the experiment module of "
                         f"{c.notebook} (companion.experiments)")
    return CHECKS[claim_id](*measured, **options)


def _papers_weights(weights: str) -> bool:
    """True for the weights the paper's model is: official files, or none for a classical method."""
    return weights.startswith("official") or weights == "none (classical method)"


def _names(names: list, shown: int = 4) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def evidence_limits(data_sources: dict, weights: dict, profile: str = "quick") -> list:
    """Why evidence on these datasets (``{name: source}``) and models (``{name: weights}``) is
    not the papers': one short phrase per limit, empty when it can bear a verdict."""
    limits = []
    fallback = sorted(d for d, source in data_sources.items() if source == "fallback")
    if fallback:
        limits.append(f"embedded fallback data, not the benchmark set ({_names(fallback)})")
    modified = sorted(d for d, source in data_sources.items() if "(modified" in source)
    if modified:
        limits.append(f"files that differ from the published benchmark set ({_names(modified)})")
    stand_ins = sorted(name for name, w in weights.items() if not _papers_weights(w))
    if stand_ins:
        limits.append(f"our stand-ins or unofficial weights, not the papers' models ({_names(stand_ins)})")
    if profile == "smoke":
        limits.append("the smoke profile's tiny images")
    return limits


def judge(claim_id: str, agrees: bool | None, data_sources: dict, weights: dict, profile: str = "quick") -> dict:
    """The status of claim ``claim_id`` given the check's outcome ``agrees`` (None: not checked)
    and the evidence it rests on: ``{'status', 'leaning', 'basis'}`` (module docstring)."""
    if agrees is None:
        return {"status": "not run", "leaning": None, "basis": ""}
    leaning = "supported" if agrees else "contradicted"
    limits = evidence_limits(data_sources, weights, profile)
    if not limits:
        return {"status": leaning, "leaning": None, "basis": "the papers' data and models"}
    if claim(claim_id).kind == "figure":
        return {"status": "not run", "leaning": None, "basis": "a published figure, checked only on its own set "
                "with the paper's model; here: " + "; ".join(limits)}
    return {"status": "indicative", "leaning": leaning, "basis": "; ".join(limits)}
