"""The conclusion's tables: every architecture from the results store with a measured latency,
and the ImageNet models from torchvision's metadata (checked against the papers)."""

from __future__ import annotations

import pandas as pd
import pytest
from support import results_store  # noqa: F401  (the `store` fixture: an empty results store)

from lecture21 import measure, models, overview, results


def _run(model, accuracy, train_size, options=None, data="CIFAR-10, JPEG-копия", variant="cifar"):
    net = models.create(model, variant, **(options or {}))
    results.record(model=model, variant=variant, data=data, test_accuracy=accuracy,
                   params=measure.count_parameters(net), macs=1, train_time_s=2.0,
                   train_size=train_size, options=options or {})


def test_one_row_per_architecture_the_main_run_with_its_latency(store):
    results.notebook("04_lenet")
    _run("lenet5", 0.40, 2_000)
    _run("lenet5", 0.55, 50_000)  # the main run: more data
    _run("lenet5", 0.60, 1_000)  # an ablation on a subset
    _run("simple_cnn", 0.9, 50_000, data="синтетические данные")  # not CIFAR-10: left out
    _run("text_cnn", 0.9, 50_000, options={"vocab_size": 40}, variant="text")  # not CIFAR
    got = overview.architectures(latency_repeats=1)
    assert list(got["модель"]) == ["lenet5"]
    row = got.iloc[0]
    assert row["точность (тест)"] == 0.55 and row["профиль"] == "smoke"
    assert row["параметры"] == 62_006  # LeNet-5 on 32x32 RGB, as the notebook asserts
    assert 0 < row["задержка CPU, мс"] < 1000
    assert overview.architectures(latency_repeats=0)["задержка CPU, мс"].isna().all()


def test_empty_store_and_bad_arguments(store):
    assert overview.architectures().empty
    with pytest.raises(ValueError, match="latency_repeats must be an int >= 0"):
        overview.architectures(latency_repeats=-1)
    with pytest.raises(ValueError, match="names must be torchvision models with weights"):
        overview.imagenet_reference(("not_a_model",))


def test_imagenet_reference_agrees_with_the_papers():
    table = overview.imagenet_reference().set_index("модель")
    assert list(table.index) == list(overview.IMAGENET_MODELS)
    # Parameters as the papers state them (millions): AlexNet 60 (Krizhevsky 2012, sec. 1),
    # VGG-16 138 (Simonyan 2014, tab. 2), ResNet-152's 11.3 G FLOPs (He 2016, tab. 1).
    assert round(table.loc["alexnet", "параметры"] / 1e6) in (60, 61)
    assert round(table.loc["vgg16", "параметры"] / 1e6) == 138
    assert 11.0e9 < table.loc["resnet152", "MAC"] < 11.6e9
    assert table["top-1 ImageNet"].between(0.5, 0.9).all()


def test_links_and_the_figure(store):
    links = overview.notebook_links(["01_a"], {"01_a": "Основы"})
    assert links == {"01_a": "{doc}`Основы <01_a>`"}
    cifar = pd.DataFrame({"модель": ["a", "b"], "MAC": [1e6, 1e8], "задержка CPU, мс": [1, 5],
                          "точность (тест)": [0.6, 0.7]})
    figure = overview.plot_cost_accuracy(cifar)
    assert len(figure.axes) == 2 and figure.axes[0].get_xscale() == "log"
    imagenet = overview.imagenet_reference(("resnet18",))
    figure = overview.plot_cost_accuracy(imagenet, "top-1 ImageNet", "ImageNet")
    assert figure.axes[1].texts[0].get_text() == "не измерено"  # ImageNet latency not given
    with pytest.raises(ValueError, match="accuracy must be a column of the frame"):
        overview.plot_cost_accuracy(imagenet)
