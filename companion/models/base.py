"""What every denoiser in the zoo shares: an input check, a record of its weights, and the
plain Conv(+BN)+ReLU stack of DnCNN and FFDNet with its batch-normalization folding."""

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import noise_level


class NotDifferentiableError(RuntimeError):
    """A gradient was asked of a model that has none: a classical denoiser, or a network whose
    forward runs under ``torch.no_grad`` or detaches its input."""


class Denoiser(nn.Module):
    """An ``nn.Module`` whose ``forward(x, sigma=None)`` maps a noisy NCHW batch to its clean estimate.

    The one denoiser contract (deepinv's): ``sigma`` is the noise level (0-255, a number or one per
    image). Blind denoisers, and those trained for one level, ignore it; those that take the level
    as an input (FFDNet, DRUNet: a noise-level map) or as a parameter (the classical methods) use
    it when given, else the level ``self.sigma`` they were bound to at creation
    (``companion.models.create(name, sigma=...)``). So every caller may pass the level it knows.

    ``info`` records what ``companion.models.create`` built: the registry name and which
    weights were loaded (official, ours, a user file or none), so results can say so.
    """

    in_channels: int = 1

    def __init__(self):
        super().__init__()
        self.info = {}

    def check_input(self, x: torch.Tensor) -> None:
        """Refuse an input this network cannot take, with what to do: not an NCHW float tensor of
        the weights' dtype, empty, NHWC, or the wrong number of channels. Shapes and dtypes only, so
        it costs nothing per call; values (NaN, the 0-255 scale) are checked where data enters the
        package (``evaluation.denoise``, each attack's entry: ``companion.checks``)."""
        name = type(self).__name__
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} takes an NCHW torch.Tensor, got {type(x).__name__}: convert it with "
                            f"torch.from_numpy (or companion.checks.as_batch)")
        if x.dim() != 4:
            hint = {3: ": add the batch dimension, x[None]", 2: ": for one HxW gray image use x[None, None]"}
            raise ValueError(f"{name} takes an NCHW tensor, got shape {tuple(x.shape)}{hint.get(x.dim(), '')}")
        if not torch.is_floating_point(x):
            raise TypeError(f"{name} takes float images in [0, 1], got dtype {x.dtype}: pass x.float() / 255")
        weight = next(self.parameters(), None)
        if weight is not None and x.dtype != weight.dtype:
            raise TypeError(f"{name} has {weight.dtype} weights and got a {x.dtype} input: pass "
                            f"x.to({weight.dtype}) (or convert the model with model.to({x.dtype}))")
        if x.shape[1] != self.in_channels and x.shape[-1] == self.in_channels:
            raise ValueError(f"{name} takes NCHW tensors; shape {tuple(x.shape)} looks like NHWC (channels last): "
                             f"pass x.permute(0, 3, 1, 2)")
        if x.shape[1] != self.in_channels:
            kind = "gray" if self.in_channels == 1 else "color"
            raise ValueError(f"{type(self).__name__} is a {kind} model and takes {self.in_channels} "
                             f"channel(s), got {x.shape[1]}; load the images with "
                             f"color={self.in_channels == 3}")
        if x.numel() == 0:
            raise ValueError(f"{name} got an empty input of shape {tuple(x.shape)}: give at least one image of "
                             f"at least 1x1 pixels")

    def with_noise_map(self, x: torch.Tensor, sigma=None) -> torch.Tensor:
        """``x`` with a uniform noise-level map sigma/255 as its LAST channel (the input of
        FFDNet and DRUNet); ``sigma`` (0-255, a number or one per image, checked: finite and
        >= 0) overrides the level ``self.sigma`` the model is bound to."""
        level = self.sigma if sigma is None else noise_level(sigma)
        level = torch.as_tensor(level, dtype=x.dtype, device=x.device)
        return torch.cat([x, (level.reshape(-1, 1, 1, 1) / 255.0).expand_as(x[:, :1])], 1)

    identity_stacks: tuple = ()  # names of the conv stacks s of a residual network x - s(x)

    def start_from_identity(self) -> "Denoiser":
        """Initialize for training from scratch so that the untrained network is the identity:
        ``init_identity`` on each residual conv stack named in ``identity_stacks``."""
        stacks = [getattr(self, name, None) for name in self.identity_stacks]
        if not stacks or not all(isinstance(stack, nn.Sequential) for stack in stacks):
            raise ValueError(f"{type(self).__name__} has no identity start: it is not a residual conv stack "
                             "x - stack(x); train it with weight_init 'default'")
        for stack in stacks:
            init_identity(stack)
        return self

    def deployable(self) -> "Denoiser":
        """The network to ship after training: itself, or, when its ``model`` is a conv stack
        trained with batch normalization, an eval-mode copy with the BN folded in."""
        stack = getattr(self, "model", None)
        if not isinstance(stack, nn.Sequential) or not has_batch_norm(stack):
            return self
        plain = copy.deepcopy(self).eval()
        plain.model = fold_batch_norm(plain.model)
        return plain


class Restorer(Denoiser):
    """A restoration network for y = k * x + n (deblurring): ``forward(y, kernel, sigma)``, with
    y an NCHW batch, ``kernel`` (kh, kw) or one per image (N, kh, kw), and ``sigma`` the noise
    level (0-255, a number or one per image). Blind restorers (``blind = True``) ignore the kernel
    and sigma; non-blind ones use what they need. The contract differs from a ``Denoiser``'s; the
    input check, the ``info`` record and ``deployable`` are shared. ``unrolled`` restorers run a
    chosen number of iterations: their ``forward`` also takes ``steps``."""

    blind: bool = False
    unrolled: bool = False


def pad_to_multiple(x: torch.Tensor, multiple: int, mode: str = "replicate") -> torch.Tensor:
    """Pad the bottom and right of ``x`` so that H and W are multiples of ``multiple`` (networks
    that downsample crop their output back to the input size)."""
    h, w = x.shape[-2:]
    return F.pad(x, (0, -w % multiple, 0, -h % multiple), mode=mode)


def conv_stack(in_channels: int, out_channels: int, features: int, depth: int,
               batch_norm: bool = False) -> nn.Sequential:
    """Conv+ReLU, (depth - 2) x Conv(+BN)+ReLU, Conv: the body of DnCNN and FFDNet.

    Without BN the convolutions sit at the even indices ``0, 2, ...`` (the layout of the
    released KAIR files); with BN (for training, as in the papers) the middle convolutions
    have no bias and each is followed by a BatchNorm2d.
    """
    if depth < 2:
        raise ValueError(f"a conv stack needs depth >= 2, got {depth}")
    layers = [nn.Conv2d(in_channels, features, 3, padding=1), nn.ReLU(inplace=True)]
    for _ in range(depth - 2):
        layers.append(nn.Conv2d(features, features, 3, padding=1, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(features))
        layers.append(nn.ReLU(inplace=True))
    layers.append(nn.Conv2d(features, out_channels, 3, padding=1))
    return nn.Sequential(*layers)


@torch.no_grad()
def init_identity(stack: nn.Sequential, jitter: float = 0.01) -> nn.Sequential:
    """Initialize a conv stack so that a residual network ``x - stack(x)`` starts as the
    identity: each square convolution before the last a Dirac kernel (it passes its input on;
    Zagoruyko & Komodakis, "DiracNets", 2017) plus N(0, ``jitter``^2), the last convolution zero,
    the first (image to features) as built. With PyTorch's default initialization a 20-layer
    DnCNN-B sat at the identity for hundreds of Adam steps (its deep random features hide the
    noise from the last layer); from this start it learns at once, which is what a short CPU run
    from scratch needs."""
    if not isinstance(stack, nn.Sequential):
        raise ValueError(f"init_identity takes a network's conv stack (nn.Sequential), got {type(stack).__name__}")
    convs = [layer for layer in stack if isinstance(layer, nn.Conv2d)]
    if len(convs) < 2:
        raise ValueError(f"init_identity takes a conv stack of depth >= 2, got {len(convs)} convolution(s)")
    for conv in convs[:-1]:
        if conv.in_channels == conv.out_channels and conv.groups == 1:
            nn.init.dirac_(conv.weight)
            conv.weight.add_(jitter * torch.randn_like(conv.weight))
            if conv.bias is not None:
                nn.init.zeros_(conv.bias)
    nn.init.zeros_(convs[-1].weight)
    if convs[-1].bias is not None:
        nn.init.zeros_(convs[-1].bias)
    return stack


@torch.no_grad()
def fold_batch_norm(stack: nn.Sequential) -> nn.Sequential:
    """The same function in eval mode, with each BatchNorm2d folded into the conv before it:
    W' = W g / sqrt(v + e), b' = (b - m) g / sqrt(v + e) + beta (per output channel)."""
    layers = []
    for layer in stack:
        if isinstance(layer, nn.BatchNorm2d):
            conv = layers[-1]
            scale = layer.weight / torch.sqrt(layer.running_var + layer.eps)
            folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                               conv.padding, conv.dilation, bias=True).to(conv.weight.device)
            folded.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
            bias = conv.bias if conv.bias is not None else torch.zeros_like(layer.running_mean)
            folded.bias.copy_((bias - layer.running_mean) * scale + layer.bias)
            layers[-1] = folded
        else:
            layers.append(copy.deepcopy(layer))
    return nn.Sequential(*layers)


def has_batch_norm(stack: nn.Sequential) -> bool:
    return any(isinstance(layer, nn.BatchNorm2d) for layer in stack)
