"""Interactive explorers for people in JupyterLab. They compute nothing until a button is
pressed or a choice made, so a notebook that builds them stays inert when run headless."""

import contextlib

import ipywidgets as W
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display
from tqdm.auto import tqdm

from . import metrics, models, noise
from .attacks import denoising_pgd
from .audit import audit
from .evaluation import denoise
from .plots import attack_panel


def attack_explorer(images, model_names: list, sigma: float = 25, device="cpu"):
    """Pick an image, a model, eps and steps; press Run to attack and see Figure 1's panel."""
    pick_image = W.Dropdown(options=list(images.names), description="image")
    pick_model = W.Dropdown(options=list(model_names), description="model")
    eps = W.FloatSlider(value=0.012, min=0.0, max=0.06, step=0.001, readout_format=".3f", description="eps")
    steps = W.IntSlider(value=5, min=1, max=30, description="steps")
    run, out = W.Button(description="Run attack", button_style="primary"), W.Output()

    def on_run(_):
        with out:
            out.clear_output(wait=True)
            clean = dict(images)[pick_image.value].to(device)
            model = models.create(pick_model.value, device=device)
            x = noise.gaussian(clean, sigma, seed=images.names.index(pick_image.value))
            adv = denoising_pgd(model, x, clean, eps=eps.value, steps=steps.value)
            shown = {"clean": clean, "noisy": x, "adv": adv, "denoised_gauss": denoise(model, x).clamp(0, 1),
                     "denoised_adv": denoise(model, adv).clamp(0, 1)}
            p = {k: float(metrics.psnr(shown[v].clamp(0, 1), clean)[0]) for k, v in
                 [("noisy", "noisy"), ("adv", "adv"), ("gauss", "denoised_gauss"), ("attacked", "denoised_adv")]}
            attack_panel(shown, p, f"{pick_model.value}, eps {eps.value:.3f}, {steps.value} steps")
            plt.show()

    run.on_click(on_run)
    box = W.VBox([W.HBox([pick_image, pick_model]), W.HBox([eps, steps, run]), out])
    display(box)
    return box


def circle_explorer(images, adv_set, loaded: dict, device="cpu"):
    """Pick an image, a model and an angle on eq. 4's circle; press Show to see the circle sample
    and the model's output on it, beside the output on the unperturbed noisy image."""
    from .similitude import circle_basis, circle_points

    pick_image = W.Dropdown(options=list(images.names), description="image")
    pick_model = W.Dropdown(options=list(loaded), description="model")
    angle = W.FloatSlider(value=90.0, min=0.0, max=359.0, step=1.0, description="angle (deg)")
    run, out = W.Button(description="Show", button_style="primary"), W.Output()

    def on_run(_):
        with out:
            out.clear_output(wait=True)
            i = images.names.index(pick_image.value)
            clean, x = dict(images)[pick_image.value].cpu(), adv_set.noisy[i]
            e1, e2, radius, adv_angle = circle_basis(x - clean, adv_set.adv[i] - x)
            sample = circle_points(x, e1, e2, radius, [angle.value])
            model = loaded[pick_model.value]
            outs = [denoise(model, v.to(device)).clamp(0, 1).cpu() for v in (x, sample)]
            fig, axes = plt.subplots(1, 4, figsize=(11, 3))
            for ax, img, title in zip(axes, [x, sample, *outs], [
                    "noisy u + n", f"circle sample at {angle.value:.0f} deg (v at {adv_angle:.0f})",
                    f"denoised noisy: {float(metrics.psnr(outs[0], clean)[0]):.2f} dB",
                    f"denoised sample: {float(metrics.psnr(outs[1], clean)[0]):.2f} dB"]):
                ax.imshow(img[0].clamp(0, 1).permute(1, 2, 0).squeeze(-1).numpy(), cmap="gray", vmin=0, vmax=1)
                ax.set_title(title, fontsize=8)
                ax.axis("off")
            plt.show()

    run.on_click(on_run)
    box = W.VBox([W.HBox([pick_image, pick_model]), W.HBox([angle, run]), out])
    display(box)
    return box


@contextlib.contextmanager
def progress(desc: str, unit: str = "task"):
    """A tqdm.auto bar (a widget in JupyterLab, text headless) as the ``progress(done, total)``
    callback ``companion.audit`` takes."""
    with tqdm(desc=desc, unit=unit) as bar:
        def update(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        yield update


def audit_picker(value: str | None = None, **audit_kwargs):
    """A dropdown of every registered model: choosing one audits it (``companion.audit(name,
    **audit_kwargs)``) and shows its summary, masking checks and figures. Nothing runs until the
    choice changes, so a notebook that builds it stays inert when run headless."""
    names = models.list_models()
    pick = W.Dropdown(options=names, value=value if value in names else None, description="model")
    out = W.Output()

    def on_change(change):
        if change["new"] is None:
            return
        with out:
            out.clear_output(wait=True)
            with progress(f"audit of {change['new']}") as bar:
                card = audit(change["new"], progress=bar, **audit_kwargs)
            display(pd.DataFrame([card.summary]), card.tables["masking"])
            for fig in card.figures.values():
                display(fig)
                plt.close(fig)

    pick.observe(on_change, names="value")
    box = W.VBox([pick, out])
    display(box)
    return box
