"""Class model, receptive fields, ZFNet views and the quality measures."""

from __future__ import annotations

import pytest
import torch
import torchvision
import torchvision.transforms.v2.functional as TF
from scipy.stats import spearmanr
from support import Dot
from torch import nn

from lecture21 import interpret
from lecture21.interpret import quality


def test_class_model_reaches_the_l2_optimum():
    torch.manual_seed(0)
    w = torch.randn(1, 3, 4, 4)
    # argmax_x w.x - l2 |x|^2 = w / (2 l2)
    x = interpret.class_model(Dot(w), 0, steps=300, lr=0.1, l2=0.5, shape=(3, 4, 4))
    torch.testing.assert_close(x, w, rtol=1e-4, atol=1e-5)
    # The same number of steps with blurring: the regulariser (not fewer steps) moves the
    # image away from the optimum, towards its smoother version.
    blurred = interpret.class_model(Dot(w), 0, steps=300, lr=0.1, l2=0.5, shape=(3, 4, 4),
                                    jitter=0, blur_every=5)
    assert (blurred - w).abs().max() > 0.05
    roughness = lambda image: (image.diff(dim=-1).abs().sum() + image.diff(dim=-2).abs().sum())  # noqa: E731
    assert roughness(blurred) < roughness(x)
    with pytest.raises(ValueError, match="steps"):
        interpret.class_model(Dot(w), 0, steps=0)
    with pytest.raises(ValueError, match="target must lie"):
        interpret.class_model(Dot(w), 5, steps=1, shape=(3, 4, 4))


@pytest.mark.parametrize(
    ("builder", "layer", "size", "stride"),
    [
        # Published values (Araujo et al., 2019, "Computing receptive fields of CNNs", Distill).
        (torchvision.models.vgg16, "features.28", 196, 16),  # conv5_3
        (torchvision.models.vgg16, "features.30", 212, 32),  # pool5
        (torchvision.models.alexnet, "features.12", 195, 32),  # pool5
    ],
)
def test_receptive_field_published_values(builder, layer, size, stride):
    with torch.device("meta"):  # the modules are enough; no weights to initialise
        model = builder()
    field = interpret.receptive_field(model, layer)
    assert (field.size, field.stride) == (size, stride)


def test_receptive_field_equals_gradient_support():
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 3, stride=2), nn.AvgPool2d(2),
        nn.Conv2d(2, 1, 3, dilation=2), nn.Flatten(), nn.Linear(121, 2),
    )
    with torch.no_grad():
        for m in model[:5]:
            if isinstance(m, nn.Conv2d):
                m.weight.uniform_(0.1, 1.0)
                m.bias.zero_()
    x = torch.rand(2, 1, 64, 64) + 0.1  # positive: every ReLU open, no cancellation
    erf = interpret.effective_receptive_field(model, x, "4")
    rows, cols = erf.nonzero(as_tuple=True)
    field = interpret.receptive_field(model, "4")
    assert rows.max() - rows.min() + 1 == field.size == cols.max() - cols.min() + 1
    assert field.stride == 4
    with pytest.raises(ValueError, match="not in the spatial"):
        interpret.receptive_field(model, "6")


def test_zfnet_views_on_alexnet():
    torch.manual_seed(0)
    model = torchvision.models.alexnet().eval()
    filters = interpret.first_layer_filters(model)
    assert filters.shape == (64, 11, 11, 3)
    assert filters.min() == 0 and filters.max() == 1
    x = torch.randn(1, 3, 96, 96)
    seen = interpret.activations(model, x, ["features.0", model.features[4]])
    with torch.no_grad():
        conv1 = model.features[0](x)
        conv2 = model.features[:5](x)
    # features.0 is followed by an in-place ReLU; we still get the conv's own output.
    assert seen["features.0"].min() < 0
    torch.testing.assert_close(seen["features.0"], conv1)
    torch.testing.assert_close(seen["features.4"], conv2)
    assert sum(len(m._forward_hooks) for m in model.modules()) == 0
    top = interpret.strongest_channels(seen["features.4"], 5)
    assert top.tolist() == conv2[0].mean((1, 2)).argsort(descending=True)[:5].tolist()


def test_pointing_game_and_mass_by_hand():
    maps = torch.tensor([[[0.0, 3.0], [1.0, 0.0]], [[2.0, -5.0], [1.0, 1.0]]])
    masks = torch.tensor([[[False, True], [False, False]], [[False, True], [True, True]]])
    assert quality.pointing_game(maps, masks).tolist() == [True, False]
    torch.testing.assert_close(quality.mass_in_mask(maps, masks), torch.tensor([0.75, 0.5]))
    with pytest.raises(ValueError, match="maps and masks"):
        quality.pointing_game(maps, masks[:, 0])


def test_spearman_equals_scipy():
    torch.manual_seed(0)
    a = torch.randn(3, 8, 8)
    b = a + torch.randn(3, 8, 8)
    a[0, :4] = 1.0  # ties
    b[1] = b[1].round()
    ours = quality.spearman(a, b)
    theirs = [spearmanr(a[i].flatten(), b[i].flatten()).statistic for i in range(3)]
    torch.testing.assert_close(ours, torch.tensor(theirs, dtype=torch.float64))


def test_deletion_and_insertion_curves():
    torch.manual_seed(0)
    w = torch.rand(1, 1, 6, 6) * 0.2  # scores of a few units: softmax not saturated
    model = Dot(w)
    x = torch.rand(2, 1, 6, 6) + 0.5
    good = (w * x)[:, 0]
    deletion, insertion = quality.deletion_insertion(model, x, 0, good, steps=6, blur_sigma=1.0)
    reverse_deletion, _ = quality.deletion_insertion(model, x, 0, -good, steps=6)
    assert deletion.shape == insertion.shape == (2, 7)
    full = model(x).softmax(1)[:, 0]
    torch.testing.assert_close(deletion[:, 0], full.detach())
    torch.testing.assert_close(insertion[:, -1], full.detach())
    torch.testing.assert_close(deletion[:, -1], torch.full((2,), 0.5))  # all pixels at 0
    assert (deletion.diff(dim=1) <= 1e-7).all()
    auc = quality.area_under_curve
    assert (auc(deletion) < auc(reverse_deletion)).all()
    blurred = TF.gaussian_blur(x, [7, 7], [1.0, 1.0])  # +-3 sigma
    torch.testing.assert_close(insertion[:, 0], model(blurred).softmax(1)[:, 0].detach())
    torch.testing.assert_close(auc(torch.ones(1, 5)), torch.ones(1))


def test_randomize_top_layers():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 10))
    before = [p.clone() for p in model.parameters()]
    clone = quality.randomize_top_layers(model, 1)
    assert all(torch.equal(p, q) for p, q in zip(before, model.parameters(), strict=True))
    torch.testing.assert_close(clone[0].weight, model[0].weight)
    assert not torch.allclose(clone[3].weight, model[3].weight)
    with pytest.raises(ValueError, match="count"):
        quality.randomize_top_layers(model, 3)


def test_quality_rows_and_figures():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lecture21 import plots
    from lecture21.interpret import compare

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
                          nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(inplace=True),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))
    x = torch.randn(3, 3, 16, 16)
    masks = torch.zeros(3, 16, 16, dtype=torch.bool)
    masks[:, 4:12, 4:12] = True
    curves = {}
    rows = compare.quality_rows(model, x, torch.tensor([0, 1, 2]), "3", masks=masks,
                                randomized=quality.randomize_top_layers(model, 2), steps=4,
                                curves=curves)
    assert [r["метод"] for r in rows] == list(compare.METHOD_NAMES.values())
    # One row recomputed from its parts: Grad-CAM's maps, then the pointing game and the mass.
    row = rows[list(compare.METHOD_NAMES).index("grad_cam")]
    maps = interpret.grad_cam(model, x, torch.tensor([0, 1, 2]), "3", upsample=True)
    hits = quality.pointing_game(maps, masks).float().mean().item()
    assert row["pointing game"] == pytest.approx(hits)
    assert row["доля в маске"] == pytest.approx(quality.mass_in_mask(maps, masks).mean().item())
    assert "Спирмен с рандомиз. ↓" not in rows[-1]
    text = compare.format_rows(rows)
    assert len(text.splitlines()) == len(rows) + 1 and "—" in text.splitlines()[-1]
    images = torch.randint(0, 256, (3, 16, 16, 3), dtype=torch.uint8)
    maps = compare.attribution_maps(model, x, 0, "3")
    figures = [
        plots.method_grid(images, maps, ["a", "b", "c"], title="t"),
        plots.deletion_curves(curves),
    ]
    picture = plots.attribution_image(torch.randn(3, 16, 16))
    assert picture.shape == (16, 16, 3) and 0 <= picture.min() and picture.max() <= 1
    assert len(figures[0].axes) == 3 * (len(maps) + 1)
    for figure in figures:
        plt.close(figure)


def test_effective_field_figure_shows_the_map_with_its_theoretical_size():
    import matplotlib.pyplot as plt

    from lecture21 import plots

    erf = torch.zeros(32, 32)
    erf[10:15, 12:17] = 1.0
    fig = plots.effective_field(erf, "features.1.3", 14)
    (ax,) = fig.axes
    assert ax.get_images()[0].get_array().shape == (32, 32)
    assert "features.1.3" in ax.get_title() and "14×14" in ax.get_title()
    plt.close(fig)
    with pytest.raises(ValueError, match="2-D"):
        plots.effective_field(torch.zeros(1, 32, 32), "x", 3)


def test_overlay_row_draws_each_map_over_its_image():
    import matplotlib.pyplot as plt

    from lecture21 import plots

    images = torch.zeros(3, 8, 8, 3, dtype=torch.uint8)
    maps = torch.rand(3, 2, 2)
    fig = plots.overlay_row(images, maps, ["кошка", "собака", "лось"], "CAM")
    assert [len(ax.get_images()) for ax in fig.axes] == [2, 2, 2]  # the image, the map on top
    assert [ax.get_title() for ax in fig.axes] == ["кошка", "собака", "лось"]
    # The map is stretched over the whole image, whatever its own resolution.
    assert fig.axes[0].get_images()[1].get_extent() == [-0.5, 7.5, 7.5, -0.5]
    plt.close(fig)
    with pytest.raises(ValueError, match="as many"):
        plots.overlay_row(images, maps[:2], ["a", "b", "c"])
