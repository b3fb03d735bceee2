"""Denoise a dataset and measure it: the loop every notebook and benchmark shares, and how a
model's passes run (``Speed``).

Conventions (those of the official DnCNN/FFDNet results): Gaussian noise unclipped, image
``i`` of the dataset seeded with ``seed + i``, the denoised output clipped to [0, 1] before
PSNR / SSIM / MAE on the 0-255 scale, averages taken over per-image values.

Every forward pass of the package's measurements (``forward``: ``denoise``, ``denoised_psnr``,
``denoising``) and of its attacks (``attacks.engine``) runs a batch in chunks of images
(``chunk_of``: a size measured per model, image size and device, or the one the user gives)
and with the options of a ``Speed``: the one given to the call, else the enclosing
attack's, else ``COMPANION_SPEED``, else the default (float32, every option off). On a CPU a
chunk gives the model's bits of one image at a time (``batching``); ``channels_last``,
``compile``, ``bf16`` and ``tf32`` change the numbers slightly (``benchmarks/speed_options.py``
measures how much), ``cudnn_benchmark`` may, so all are off by default (docs/performance.md).
"""

import contextlib
import contextvars
import dataclasses
import os

import numpy as np
import torch

from . import metrics, noise
from .batching import by_size, chunk_size, chunks
from .checks import as_batch, check_noisy_range, check_unit_range, count

SPEED_ENV = "COMPANION_SPEED"
_FLAGS = ("channels_last", "compile", "bf16", "tf32", "cudnn_benchmark")


@dataclasses.dataclass(frozen=True)
class Speed:
    """How a model's passes run (module docstring); written as text ``"chunk=2,channels_last,bf16"``.

    ``chunk``: images per pass (None: ``batching.chunk_size`` measures it). ``channels_last``: the
    weights and inputs in NHWC memory layout. ``compile``: ``torch.compile`` (inductor; the first
    call of each input shape compiles, tens of seconds on a CPU, and the chunk is not measured
    then: give ``chunk``). ``bf16``: autocast to bfloat16 (CUDA, or a CPU with native bfloat16:
    AVX512-BF16 or AMX); an attack on DnCNN-S moves the PSNR by < 0.01 dB
    (``benchmarks/speed_options.py``). On CUDA only: ``tf32`` (TensorFloat-32 convolutions and
    matrix products; off means true float32, which PyTorch's cuDNN default is not) and
    ``cudnn_benchmark`` (cuDNN picks its fastest algorithm per shape). Off: float32, the
    measurements' bits.
    """

    chunk: int | None = None
    channels_last: bool = False
    compile: bool = False
    bf16: bool = False
    tf32: bool = False
    cudnn_benchmark: bool = False

    def __post_init__(self):
        if self.chunk is not None:
            object.__setattr__(self, "chunk", count(self.chunk, "chunk", least=1))
        for name in _FLAGS:
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"Speed.{name} is True or False, got {getattr(self, name)!r}")

    @classmethod
    def parse(cls, text: str) -> "Speed":
        """A ``Speed`` from its text: comma-separated option names and ``chunk=N`` ('' or
        'default': every option off); a one-line ValueError naming the known ones otherwise."""
        fields = {}
        for word in (w.strip() for w in str(text).split(",")):
            if word in ("", "default"):
                continue
            name, _, value = word.partition("=")
            if name == "chunk" and value:
                fields["chunk"] = int(value) if value.isdigit() else value
            elif name in _FLAGS and not value:
                fields[name] = True
            else:
                raise ValueError(f"unknown speed option {word!r} in {text!r}; known: chunk=N, {', '.join(_FLAGS)} "
                                 f"(comma-separated, e.g. 'chunk=1,channels_last')")
        return cls(**fields)

    def __str__(self) -> str:
        words = ([f"chunk={self.chunk}"] if self.chunk else []) + [n for n in _FLAGS if getattr(self, n)]
        return ",".join(words) or "default"

    def options(self) -> "Speed":
        """This speed without its chunk: what a measured chunk size depends on."""
        return dataclasses.replace(self, chunk=None)


_SPEED = contextvars.ContextVar("companion_speed", default=None)


def current_speed(given=None) -> Speed:
    """The ``Speed`` of a call: ``given`` (a ``Speed`` or its text), else the enclosing call's
    (``using``), else ``COMPANION_SPEED`` (read at each call), else the default."""
    if given is None:
        given = _SPEED.get()
    if given is None:
        text = os.environ.get(SPEED_ENV, "")
        try:
            return Speed.parse(text)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{SPEED_ENV}={text!r}: {err}") from None
    return given if isinstance(given, Speed) else Speed.parse(given)


@contextlib.contextmanager
def using(given=None):
    """Run a block with ``current_speed(given)`` as the speed of every call in it that names none."""
    token = _SPEED.set(current_speed(given))
    try:
        yield _SPEED.get()
    finally:
        _SPEED.reset(token)


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of a model's parameters (the CPU for a model without any)."""
    return next(model.parameters(), torch.empty(0)).device


@contextlib.contextmanager
def eval_mode(model: torch.nn.Module):
    """Run a block with ``model`` and all its submodules in eval mode, then give each module back
    its own mode. (``model.train(was_training)`` would not: it sets every submodule to the outer
    module's flag, e.g. a wrapper built in training mode would leave its eval-mode classifier
    training, its batch-norm statistics then moving with every batch.)"""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, mode in modes:
            module.training = mode


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes in bfloat16 natively (CUDA; a CPU with AVX512-BF16 or AMX)."""
    return device.type == "cuda" or bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


@contextlib.contextmanager
def running(model: torch.nn.Module, options: Speed):
    """Run a block with ``model`` prepared as ``options`` asks (``Speed``, its chunk aside); yields
    the callable to use in place of ``model`` (inputs moved to channels-last, ``torch.compile``).
    The model's weights, and the CUDA flags, are as before when the block ends."""
    device = model_device(model)
    if options.bf16 and not native_bf16(device):
        raise ValueError("this CPU has no native bfloat16 (AVX512-BF16 or AMX), where bf16 runs slower than float32: "
                         "leave the speed option bf16 off")
    cuda = device.type == "cuda"
    flags = {(torch.backends.cudnn, "allow_tf32"): options.tf32, (torch.backends.cuda.matmul, "allow_tf32"): options.tf32,
             (torch.backends.cudnn, "benchmark"): options.cudnn_benchmark} if cuda else {}
    before = {key: getattr(*key) for key in flags}
    tensors = [(t, t.data) for t in (*model.parameters(), *model.buffers())] if options.channels_last else []
    try:
        for (owner, name), value in flags.items():
            setattr(owner, name, value)
        call = torch.compile(model) if options.compile else model  # dynamo's cache outlives the wrapper
        if options.channels_last:
            model.to(memory_format=torch.channels_last)
            net = call
            call = lambda x: net(x.contiguous(memory_format=torch.channels_last))  # noqa: E731
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=options.bf16):
            yield call
    finally:
        for t, data in tensors:
            t.data = data
        for (owner, name), value in before.items():
            setattr(owner, name, value)


def device_sync(device: torch.device):
    """What makes a timer on ``device`` see the work queued on it (``batching.chunk_size``): None
    on a CPU, which runs work as it is called."""
    return (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else None


def chunk_of(model: torch.nn.Module, x: torch.Tensor, options: Speed, kind: str, probe) -> int:
    """Images of the batch ``x`` per pass of ``kind`` ('forward', 'attack'): the chunk of
    ``options``; the whole batch under ``torch.compile`` (a new size compiles again) or for a model
    without weights (a classical method works image by image: a probe would only cost); else the
    size the probe measures (``batching.chunk_size``; bit-identical to one image at a time except
    on CUDA)."""
    if options.chunk or options.compile or next(model.parameters(), None) is None:
        return options.chunk or x.shape[0]
    device = model_device(model)
    return chunk_size(model, (tuple(x.shape[1:]), str(device), kind, options.options()), x.shape[0], probe,
                      exact=device.type != "cuda", sync=device_sync(device))


def forward(model: torch.nn.Module, x: torch.Tensor, speed=None) -> torch.Tensor:
    """``model(x)`` in float32, without gradients, in eval mode (``eval_mode``), the batch in chunks
    (``chunk_of``) run with the options of ``current_speed(speed)``. ``x`` is taken as it is: the
    caller checked it (``denoise`` is the checked entry; an attack checks at its entry)."""
    options = current_speed(speed)
    with torch.no_grad(), eval_mode(model), running(model, options.options()) as call:
        size = chunk_of(model, x, options, "forward", lambda k: (call(x[:1].repeat(k, 1, 1, 1)).float(),))
        outputs = [call(x[lo:hi]).float() for lo, hi in chunks(x.shape[0], size)]
    return outputs[0] if len(outputs) == 1 else torch.cat(outputs)


def denoise(model: torch.nn.Module, x: torch.Tensor, speed=None) -> torch.Tensor:
    """``model(x)`` without gradients, in eval mode (``forward``; ``speed``: a ``Speed``, its text or
    None: ``current_speed``).

    Refuses input that is empty, not finite (one NaN pixel), or clearly not on the [0, 1] scale
    (e.g. 0-255 data): ``checks.as_batch`` and ``checks.check_noisy_range``, once per call.
    """
    x = as_batch(x, "noisy image")
    check_noisy_range(x)
    return forward(model, x, speed)


def clipped_denoise(model: torch.nn.Module, x: torch.Tensor, speed=None) -> torch.Tensor:
    """``denoise`` clipped to [0, 1]: the output every measure of the package scores."""
    return denoise(model, x, speed).clamp(0, 1)


def denoised_psnr(model: torch.nn.Module, noisy, clean, batch_size: int | None = None, speed=None) -> np.ndarray:
    """Per-image PSNR (dB, float64) of the clipped denoised ``noisy`` against ``clean``: the one
    measurement every measure of the package makes, 10 log10(255^2 / MSE(clip(D(x')), y)).

    ``noisy``: an NCHW batch, or a list of 1CHW tensors of mixed sizes (denoised in groups of one
    size, results in list order). ``clean``: the same shape (or list), or one 1CHW image that
    every sample is compared with, finite and in [0, 1]. ``batch_size``: samples per forward pass
    (None: the chunk of ``speed``, else the measured one: ``forward``).
    """
    options = current_speed(speed)
    if batch_size is not None:
        options = dataclasses.replace(options, chunk=count(batch_size, "batch_size", least=1))
    device = model_device(model)
    if isinstance(noisy, (list, tuple)):
        if not isinstance(clean, (list, tuple)) or len(clean) != len(noisy):
            raise ValueError("noisy and clean must both be lists of the same length")
        out = np.empty(len(noisy))
        for indices in by_size(noisy):
            out[indices] = denoised_psnr(model, torch.cat([noisy[i] for i in indices]),
                                         torch.cat([clean[i] for i in indices]), speed=options)
        return out
    noisy = as_batch(noisy, "noisy image").to(device)
    clean = as_batch(clean, "clean image").to(device)
    check_unit_range(clean, "clean image")
    denoised = clipped_denoise(model, noisy, options)
    return metrics.psnr(denoised, clean.expand_as(denoised)).cpu().numpy().astype(np.float64)


def denoising(model: torch.nn.Module, images, kind: str, level: float, seed: int = 0, keep_outputs: bool = False,
              speed=None, **noise_kwargs) -> tuple:
    """Add noise ``kind`` at ``level`` (``noise.add``: Gaussian sigma 0-255, Poisson photons,
    impulse probability) to every image of an ``ImageSet``, denoise, measure.

    Returns ``(rows, outputs)``: one dict per image (image, psnr, ssim, mae, noisy_psnr) in
    dataset order, and ``{name: (noisy, denoised)}`` when ``keep_outputs``. ``speed``: how the
    model runs (``current_speed``).
    """
    device = model_device(model)
    rows, outputs = [None] * len(images), {}
    for indices, clean in images.groups():
        clean = clean.to(device)
        noisy = noise.add(kind, clean, level, seed=[seed + i for i in indices], **noise_kwargs)
        out = clipped_denoise(model, noisy, speed)
        scores = metrics.evaluate(out, clean)
        noisy_psnr = metrics.psnr(noisy.clamp(0, 1), clean).cpu().numpy()
        for j, i in enumerate(indices):
            name = images.names[i]
            rows[i] = {"image": name, **{k: float(v[j]) for k, v in scores.items()},
                       "noisy_psnr": float(noisy_psnr[j])}
            if keep_outputs:
                outputs[name] = (noisy[j:j + 1].cpu(), out[j:j + 1].cpu())
    return rows, outputs


def gaussian_denoising(model: torch.nn.Module, images, sigma: float, seed: int = 0,
                       keep_outputs: bool = False, speed=None) -> tuple:
    """``denoising`` with Gaussian noise of level ``sigma`` (0-255), unclipped."""
    return denoising(model, images, "gaussian", sigma, seed, keep_outputs, speed)
