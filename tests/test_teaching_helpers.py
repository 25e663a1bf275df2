"""What notebooks 01 and 04 used to define in their cells, now in the package: AlexNet and ZFNet
side by side (against torchvision's AlexNet), the panels and per-run accuracy figures, and
source excerpts for slides."""

import matplotlib
import pytest
import torch
import torchvision

from lecture21 import measure, models, plots
from lecture21.helpers import source_excerpt
from lecture21.models import alexnet

matplotlib.use("Agg")


def test_describe_alexnet_zfnet_and_the_cost_of_dropping_groups():
    with torch.device("meta"):
        paper = alexnet.describe(models.create("alexnet", "imagenet"))
        ungrouped = alexnet.describe(models.create("alexnet", "imagenet", groups=1))
        zf = alexnet.describe(models.create("zfnet", "imagenet"))
        reference = torchvision.models.alexnet()
    assert paper["размер карт conv1..5"] == [55, 27, 13, 13, 13]
    assert paper["группы (2 GPU)"] == [1, 2, 1, 2, 2] and zf["группы (2 GPU)"] == [1] * 5
    assert zf["размер карт conv1..5"] == [110, 26, 13, 13, 13]
    # Ungrouped AlexNet costs about 1.13 G multiply-adds; ZFNet only ~3 % more than that:
    # nearly all of ZFNet's ~60 % over AlexNet comes from dropping the two-GPU groups.
    assert 1_130 <= ungrouped["MAC, млн"] <= 1_140
    assert zf["MAC, млн"] / ungrouped["MAC, млн"] < 1.05 < 1.5 < zf["MAC, млн"] / paper["MAC, млн"]
    # torchvision's AlexNet (64-192-384-256-256, no groups) is smaller: a different network.
    assert measure.macs(reference, (1, 3, 224, 224)) < paper["MAC, млн"] * 1e6
    with pytest.raises(ValueError, match="AlexNet or ZFNet"):
        alexnet.describe(torch.nn.Linear(2, 2))


def test_panels_and_accuracy_by_epoch_draw_what_they_are_given():
    image = torch.zeros(32, 32, 3, dtype=torch.uint8)
    fig = plots.show_panels([image, torch.rand(32, 32)], ["изображение", "карта"], "t")
    assert [ax.get_title() for ax in fig.axes] == ["изображение", "карта"]
    assert fig.axes[1].images[0].get_cmap().name == "gray"
    with pytest.raises(ValueError, match="one caption per picture"):
        plots.show_panels([image], ["a", "b"])
    history = [{"epoch": e, "loss": 1.0, "train_acc": 0.1 * e, "test_acc": 0.1 * e, "lr": 0.1}
               for e in (1, 2)]
    fig = plots.accuracy_by_epoch({"A": history, "B": history})
    assert [ax.get_title() for ax in fig.axes] == ["A", "B"]
    assert list(fig.axes[0].lines[0].get_ydata()) == [0.1, 0.2]
    with pytest.raises(ValueError, match="at least one run"):
        plots.accuracy_by_epoch({})


def test_source_excerpt_drops_the_docstring_and_cuts_by_markers():
    from lecture21.helpers import minmax

    whole = source_excerpt(minmax)
    assert '"""' not in whole and whole.startswith("def minmax")
    cut = source_excerpt(alexnet.describe, "convs = [", "sides =")
    assert cut.splitlines()[0].startswith("convs = [") and cut.splitlines()[2].startswith("sides")
    assert "lecture21/models/alexnet.py, строки" in cut.splitlines()[-1]
    with pytest.raises(ValueError, match="marker 'no such line'"):
        source_excerpt(minmax, "no such line")
