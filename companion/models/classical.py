"""Classical (model-driven) denoisers with the zoo's ``forward(x)``: BM3D, TV, NL-means, wavelets.

Ning et al. (arXiv:2306.16050, Sec. V-B, Figure 13) denoise DnCNN's adversarial samples with
BM3D (Dabov et al., IEEE TIP 2007) and find it almost unaffected. These modules let every
notebook treat the classical methods like the deep ones:

- ``BM3D``: the ``bm3d`` package (Makinen, Azzari & Foi's reference implementation, profile
  'np', both stages), the noise level known; CBM3D (``bm3d_rgb``, opponent colour space) for
  colour. Nothing is tuned: BM3D is given sigma.
- ``TotalVariation``: Chambolle's algorithm (scikit-image), weight = ``weight_per_sigma`` x sigma.
- ``NonLocalMeans``: Buades et al. (scikit-image, fast mode, 5x5 patches, 13x13 search, the
  known sigma subtracted from patch distances), h = ``h_per_sigma`` x sigma.
- ``WaveletShrinkage``: BayesShrink soft thresholding (Chang, Yu & Vetterli 2000; scikit-image),
  the known sigma, wavelet ``wavelet``.

The free parameter of TV, NL-means and wavelets was tuned once on the gray Train400 images at
sigma 25 (``tune``; ``python benchmarks/classical_denoisers.py --tune`` reruns it) and is
recorded in ``TUNED``; TV's weight and NL-means' h scale linearly with the noise level they are
bound to (both are proportional to sigma at their optimum to first order), and colour images
use the gray values. None has a gradient: calling one inside a gradient attack raises
``NotDifferentiableError``, which names the alternatives (BPDA, SPSA, transfer).
"""

import numpy as np
import torch

from .. import noise
from ..evaluation import denoised_psnr
from ..checks import noise_level
from .base import Denoiser, NotDifferentiableError
from .registry import ModelSpec, register

TUNED = {
    "tv": {"weight_per_sigma": 0.7},
    "nlm": {"h_per_sigma": 0.6},
    "wavelet": {"wavelet": "coif1"},
}
"""The best of ``GRIDS`` on Train400 (400 gray 180x180 images) at sigma 25, noise seeded 0 + i, by
the mean PSNR of the clipped output: TV 27.28 dB (next: 0.8, 27.24), NL-means 27.57 (0.7, 27.54),
wavelets 26.00 (db2, 25.98). ``python benchmarks/classical_denoisers.py --tune`` reruns it."""

GRIDS = {
    "tv": [{"weight_per_sigma": w} for w in (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.6)],
    "nlm": [{"h_per_sigma": h} for h in (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2)],
    "wavelet": [{"wavelet": w} for w in ("db1", "db2", "db4", "sym4", "sym8", "coif1", "coif2")],
}
"""The candidate parameters ``tune`` tried for each method."""


def _channel_axis(img: np.ndarray):
    """scikit-image's ``channel_axis`` for an HxW (None) or HxWx3 (-1) image."""
    return -1 if img.ndim == 3 else None


class ClassicalDenoiser(Denoiser):
    """A denoiser computed in NumPy, image by image, bound to a noise level ``sigma`` (0-255).

    ``forward(x, sigma=None)`` takes NCHW tensors on any device and returns the estimate on the
    same device and dtype; ``sigma`` (a number or one per image) overrides the bound level. It
    refuses input that requires a gradient: there is none to give.
    """

    method = "classical"
    settings: tuple = ()  # names of the method's parameters besides sigma (in repr and in cache fingerprints)

    def __init__(self, channels: int = 1, sigma: float = 25.0):
        super().__init__()
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 (gray) or 3 (color), got {channels}")
        self.in_channels, self.sigma = channels, noise_level(sigma, positive=True)

    def denoise_array(self, img: np.ndarray, sigma: float) -> np.ndarray:
        """Denoise one float64 image, HxW (gray) or HxWx3 (color), on the [0, 1] scale, whose noise
        level is ``sigma`` (0-255)."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, sigma=None) -> torch.Tensor:
        self.check_input(x)
        if torch.is_grad_enabled() and x.requires_grad:
            raise NotDifferentiableError(
                f"{type(self).__name__} has no gradient, so a gradient attack cannot run on it. Attack it with "
                f"BPDA (companion.attacks.BPDA(model, stand_in) inside denoising_pgd: the gradient of the identity, "
                f"or of a differentiable stand-in such as DnCNN), with the gradient-free companion.attacks.spsa, or "
                f"denoise samples made on a deep model (transfer: robustness.score_set)")
        arr = x.detach().cpu().double().numpy()
        levels = torch.as_tensor(self.sigma if sigma is None else noise_level(sigma, positive=True),
                                 dtype=torch.float64).cpu()
        levels = levels.reshape(-1).expand(len(arr)).tolist()
        if self.in_channels == 1:
            out = [self.denoise_array(img[0], s)[None] for img, s in zip(arr, levels)]
        else:
            out = [self.denoise_array(img.transpose(1, 2, 0), s).transpose(2, 0, 1) for img, s in zip(arr, levels)]
        return torch.from_numpy(np.stack(out)).to(device=x.device, dtype=x.dtype)

    def extra_repr(self) -> str:
        return ", ".join([f"channels={self.in_channels}", f"sigma={self.sigma:g}",
                          *(f"{k}={getattr(self, k)}" for k in self.settings)])


class BM3D(ClassicalDenoiser):
    """BM3D / CBM3D with the known noise level (``bm3d`` package, profile 'np', both stages).

    ``num_threads`` is 1: the package documents that several threads change the output slightly
    from run to run, and the project promises the same numbers for the same seed.
    """

    method = "bm3d"

    def denoise_array(self, img: np.ndarray, sigma: float) -> np.ndarray:
        import bm3d

        profile = bm3d.BM3DProfile()
        profile.num_threads = 1
        if self.in_channels == 3:
            return bm3d.bm3d_rgb(img, sigma / 255.0, profile=profile)
        return bm3d.bm3d(img, sigma / 255.0, profile=profile)


class TotalVariation(ClassicalDenoiser):
    """Chambolle's TV denoising (scikit-image), weight = weight_per_sigma x sigma / 255."""

    method = "tv"
    settings = ("weight_per_sigma",)

    def __init__(self, channels: int = 1, sigma: float = 25.0, weight_per_sigma: float = TUNED["tv"]["weight_per_sigma"]):
        super().__init__(channels, sigma)
        self.weight_per_sigma = float(weight_per_sigma)

    def denoise_array(self, img: np.ndarray, sigma: float) -> np.ndarray:
        from skimage.restoration import denoise_tv_chambolle

        return denoise_tv_chambolle(img, weight=self.weight_per_sigma * sigma / 255.0,
                                    channel_axis=_channel_axis(img))


class NonLocalMeans(ClassicalDenoiser):
    """Non-local means (scikit-image, fast mode, 5x5 patches, 13x13 search window, the known sigma
    subtracted from patch distances), h = h_per_sigma x sigma / 255."""

    method = "nlm"
    settings = ("h_per_sigma",)

    def __init__(self, channels: int = 1, sigma: float = 25.0, h_per_sigma: float = TUNED["nlm"]["h_per_sigma"]):
        super().__init__(channels, sigma)
        self.h_per_sigma = float(h_per_sigma)

    def denoise_array(self, img: np.ndarray, sigma: float) -> np.ndarray:
        from skimage.restoration import denoise_nl_means

        s = sigma / 255.0
        return denoise_nl_means(img, patch_size=5, patch_distance=6, h=self.h_per_sigma * s, sigma=s,
                                fast_mode=True, channel_axis=_channel_axis(img))


class WaveletShrinkage(ClassicalDenoiser):
    """BayesShrink soft thresholding of the wavelet coefficients (scikit-image), the known sigma."""

    method = "wavelet"
    settings = ("wavelet",)

    def __init__(self, channels: int = 1, sigma: float = 25.0, wavelet: str = TUNED["wavelet"]["wavelet"]):
        super().__init__(channels, sigma)
        self.wavelet = wavelet

    def denoise_array(self, img: np.ndarray, sigma: float) -> np.ndarray:
        from skimage.restoration import denoise_wavelet

        return denoise_wavelet(img, sigma=sigma / 255.0, wavelet=self.wavelet, mode="soft", method="BayesShrink",
                               rescale_sigma=True, channel_axis=_channel_axis(img))


METHODS = {cls.method: cls for cls in (BM3D, TotalVariation, NonLocalMeans, WaveletShrinkage)}

CLASSICAL = {  # registry name: (class, channels, paper)
    "bm3d": (BM3D, 1, "Dabov et al., IEEE TIP 2007 (BM3D)"),
    "cbm3d": (BM3D, 3, "Dabov et al., ICIP 2007 (CBM3D)"),
    "tv": (TotalVariation, 1, "Chambolle, JMIV 2004 (total variation)"),
    "tv_color": (TotalVariation, 3, "Chambolle, JMIV 2004 (total variation)"),
    "nlm": (NonLocalMeans, 1, "Buades, Coll & Morel, CVPR 2005 (non-local means)"),
    "nlm_color": (NonLocalMeans, 3, "Buades, Coll & Morel, CVPR 2005 (non-local means)"),
    "wavelet": (WaveletShrinkage, 1, "Chang, Yu & Vetterli, IEEE TIP 2000 (BayesShrink)"),
    "wavelet_color": (WaveletShrinkage, 3, "Chang, Yu & Vetterli, IEEE TIP 2000 (BayesShrink)"),
}

register(*[ModelSpec(name, lambda sigma=25.0, cls=cls, c=c, **kw: cls(c, sigma), c, "classical", paper, sigma=25.0,
                     bindable=True, collection="classical", notes="no weights and no gradient; parameters in "
                     "companion.models.classical.TUNED (tuned on Train400 at sigma 25)")
           for name, (cls, c, paper) in CLASSICAL.items()])


def tune(method: str, images, sigma: float = 25.0, grid: list | None = None, seed: int = 0, progress: bool = False):
    """Mean PSNR of ``method`` on ``images`` (an ``ImageSet``, gray) for each parameter set of
    ``grid`` (default ``GRIDS[method]``); noise image i seeded ``seed + i``, output clipped.

    Returns a DataFrame, one row per parameter set, best first.
    """
    if method not in GRIDS:
        raise ValueError(f"nothing to tune for {method!r}; tunable methods: {', '.join(GRIDS)}")
    import pandas as pd
    from tqdm.auto import tqdm

    clean = [img for _, img in images]
    noisy = [noise.gaussian(y, sigma, seed=seed + i) for i, y in enumerate(clean)]
    rows = []
    for params in tqdm(grid or GRIDS[method], desc=f"tuning {method}", disable=not progress):
        model = METHODS[method](clean[0].shape[1], sigma, **params)
        scores = denoised_psnr(model, noisy, clean, batch_size=1)
        rows.append({**params, "psnr": float(np.mean(scores)), "images": len(scores)})
    return pd.DataFrame(rows).sort_values("psnr", ascending=False, ignore_index=True)
