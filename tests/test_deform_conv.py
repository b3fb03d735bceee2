import pytest
import torch
import torch.nn.functional as F

from companion.models.deform_conv import DeformConv2d, deform_conv2d


@pytest.mark.parametrize("stride,padding,dilation", [(1, 1, 1), (2, 1, 1), (1, 2, 2), (1, 0, 1)])
def test_zero_offsets_equal_conv2d(stride, padding, dilation):
    torch.manual_seed(0)
    x, w, b = torch.randn(2, 3, 11, 9), torch.randn(4, 3, 3, 3), torch.randn(4)
    expected = F.conv2d(x, w, b, stride, padding, dilation)
    offset = torch.zeros(2, 18, *expected.shape[-2:])
    got = deform_conv2d(x, offset, w, b, stride, padding, dilation)
    assert torch.allclose(got, expected, atol=1e-5)


def test_integer_offsets_shift_the_input_and_fractions_interpolate():
    torch.manual_seed(1)
    x, w = torch.randn(1, 2, 12, 12), torch.randn(3, 2, 3, 3)
    offset = torch.zeros(1, 18, 12, 12)
    offset[:, 1::2] = 1.0  # dx = 1 for every kernel position: read one pixel to the right
    # = conv2d of the input moved one pixel left (zero beyond the right edge); the first
    # column differs: there the deformable taps read x[0] where conv2d reads its zero padding
    shifted = F.conv2d(F.pad(x[..., 1:], (0, 1)), w, padding=1)[..., 1:]
    assert torch.allclose(deform_conv2d(x, offset, w, padding=1)[..., 1:], shifted, atol=1e-5)
    plain = F.conv2d(x, w, padding=1)[..., 1:]
    half = deform_conv2d(x, offset * 0.5, w, padding=1)[..., 1:]
    assert torch.allclose(half, (plain + shifted) / 2, atol=1e-5)


def test_mask_scales_and_gradients_reach_input_weights_and_offsets():
    torch.manual_seed(2)
    x = torch.randn(1, 2, 8, 8, requires_grad=True)
    w = torch.randn(3, 2, 3, 3, requires_grad=True)
    offset = (0.3 * torch.randn(1, 18, 8, 8)).requires_grad_()
    mask = torch.full((1, 9, 8, 8), 0.5)
    out = deform_conv2d(x, offset, w, padding=1, mask=mask)
    assert torch.allclose(out, 0.5 * deform_conv2d(x, offset, w, padding=1), atol=1e-6)
    out.square().sum().backward()
    assert all(t.grad is not None and t.grad.abs().sum() > 0 for t in (x, w, offset))


def test_layer_starts_on_the_regular_grid_and_checks_shapes():
    layer = DeformConv2d(2, 4, modulated=True)
    x = torch.randn(1, 2, 7, 7)
    bias = torch.nn.init.normal_(layer.bias)
    expected = 0.5 * F.conv2d(x, layer.weight, padding=1) + bias.view(1, -1, 1, 1)
    assert torch.allclose(layer(x), expected, atol=1e-5)
    with pytest.raises(ValueError, match="offset must have shape"):
        deform_conv2d(x, torch.zeros(1, 18, 5, 5), layer.weight, padding=1)
