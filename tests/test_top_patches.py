"""Zeiler & Fergus's top patches: the receptive-field box by hand on a tiny network, the
projection against captum's Deconvolution (not written here)."""

import pytest
import torch
from torch import nn

from lecture21.data import normalize
from lecture21.interpret import receptive_field
from lecture21.interpret import top_patches as tp


def _tiny():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(2, 4, 3), nn.ReLU())


def test_patch_box_by_hand():
    # Unit (y, x) of the last conv sees pooled rows y..y+2, i.e. conv1 rows 2y..2y+5, i.e.
    # pixels 2y-1..2y+6 (conv1 pads by one): the window [2y - 1, 2y + 7), cut to the image.
    field = receptive_field(_tiny(), "3")
    assert (field.size, field.stride) == (8, 2)
    assert tp.patch_box(field, 0, 0, 16, 16) == (0, 0, 7, 7)
    assert tp.patch_box(field, 1, 2, 16, 16) == (1, 3, 9, 11)
    assert tp.patch_box(field, 5, 5, 16, 16) == (9, 9, 16, 16)


def test_patch_box_is_exactly_where_a_linear_unit_depends_on_the_input():
    # Without ReLU and max-pool switches every pixel of the window reaches the unit.
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 2, 3, padding=1), nn.AvgPool2d(2), nn.Conv2d(2, 4, 3))
    x = torch.randn(1, 3, 16, 16, requires_grad=True)
    model(x)[0, 1, 2, 3].backward()
    rows, cols = x.grad[0].abs().sum(0).nonzero(as_tuple=True)
    top, left, bottom, right = tp.patch_box(receptive_field(model, "2"), 2, 3, 16, 16)
    assert (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1) == (top, bottom, left, right)


def test_top_activations_find_the_reddest_pixels():
    model = nn.Sequential(nn.Conv2d(3, 1, 1, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([1.0, 0, 0]).view(1, 3, 1, 1))
    images = torch.randint(0, 200, (20, 8, 8, 3), dtype=torch.uint8)
    images[7, 2, 5, 0], images[3, 6, 1, 0] = 255, 250
    top = tp.top_activations(model, images, "0", channel=0, k=2, batch_size=6)
    assert [(t.index, t.y, t.x) for t in top] == [(7, 2, 5), (3, 6, 1)]
    assert top[0].value > top[1].value


def test_projection_equals_captums_deconvolution():
    captum_attr = pytest.importorskip("captum.attr")
    model = _tiny().eval()
    image = torch.randint(0, 256, (16, 16, 3), dtype=torch.uint8)
    unit = tp.TopActivation(0, 2, 3, 0.0)
    ours = tp.unit_projection(model, image, "3", unit, channel=1)
    wrapper = tp._Unit(model, model[3], 1, 2, 3)
    theirs = captum_attr.Deconvolution(wrapper).attribute(normalize(image.unsqueeze(0)),
                                                         target=0)[0]
    torch.testing.assert_close(ours, theirs.detach())
    assert ours.abs().sum() > 0


def test_bad_input_is_a_clear_error():
    images = torch.zeros(3, 8, 8, 3, dtype=torch.uint8)
    with pytest.raises(ValueError, match="k must be an int"):
        tp.top_activations(_tiny(), images, "3", channel=0, k=4)
    with pytest.raises(ValueError, match="channel must be in"):
        tp.top_activations(_tiny(), images, "3", channel=9, k=1)


def test_strongest_patches_stay_inside_the_field_and_draw():
    from lecture21 import plots

    model = _tiny().eval()
    images = torch.randint(0, 256, (12, 16, 16, 3), dtype=torch.uint8)
    views = tp.strongest_patches(model, images, "3", channels=(0, 2), k=3)
    assert list(views) == [0, 2] and all(len(v) == 3 for v in views.values())
    for view in views[0] + views[2]:
        top, left, bottom, right = view.box
        assert view.patch.shape == view.projection.shape[:2] + (3,) == (bottom - top,
                                                                        right - left, 3)
        assert view.outside < 1e-6  # the projection never leaves the receptive field
        assert 0 <= view.projection.min() and view.projection.max() <= 1
    assert len(plots.top_patches(views).axes) == 2 * 2 * 3
    with pytest.raises(ValueError, match="views must map"):
        plots.top_patches({})
