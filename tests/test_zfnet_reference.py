"""ZFNet against pytorchcv's ``zfnet`` and ``zfnetb`` (the 512-1024-512 model of Zeiler &
Fergus's Table 2): our classes with pytorchcv's weights give pytorchcv's outputs."""

from __future__ import annotations

import pytest
import torch

from lecture21 import pretrained
from lecture21.models import create, entry
from lecture21.models.alexnet import options_from_pytorchcv

torch.set_num_threads(1)


@pytest.fixture
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv(pretrained.WEIGHTS_ENV, str(tmp_path / "weights"))


@pytest.mark.parametrize("name", ["zfnet", "zfnetb"])
def test_equals_pytorchcv_and_its_weights_file_loads(name, offline, tmp_path):
    from pytorchcv.model_provider import get_model

    assert entry("zfnet").reference("pytorchcv").name == "zfnet"
    torch.manual_seed(0)
    # zfnetb is our zfnet with the widths its instance shows (options_from_pytorchcv).
    reference = get_model(name, pretrained=False).eval()
    x = torch.randn(2, 3, 224, 224)  # the classifier expects the 6x6 maps of 224x224 inputs
    with torch.no_grad():
        expected = reference(x)
        ours = pretrained.from_reference("zfnet", reference)
        torch.testing.assert_close(ours(x), expected, rtol=1e-4, atol=1e-4)
        # The paper's padded pooling and LRN alpha give other numbers: the options matter.
        widths = options_from_pytorchcv(reference)["widths"]
        paper = create("zfnet", "imagenet", widths=widths).eval()
        paper.load_state_dict(ours.state_dict())
        assert not torch.allclose(paper(x), expected, rtol=1e-3, atol=1e-3)
    if name == "zfnet":  # a weights file saved from the reference, through the public loader
        torch.save(reference.state_dict(), tmp_path / "zfnet.pth")
        loaded, _ = pretrained.load("zfnet", tmp_path / "zfnet.pth")
        with torch.no_grad():
            torch.testing.assert_close(loaded(x), expected, rtol=1e-4, atol=1e-4)


def test_zfnetb_is_the_wider_model_of_table_2():
    with torch.device("meta"):
        model = create("zfnet", "imagenet", widths=(96, 256, 512, 1024, 512))
    assert [layer.conv.out_channels for layer in model.features] == [96, 256, 512, 1024, 512]
    with pytest.raises(ValueError, match="lrn_alpha"):
        create("zfnet", lrn_alpha=0.0)
