"""ZFNet against pytorchcv's ``zfnet`` and ``zfnetb`` (the 512-1024-512 model of Zeiler &
Fergus's Table 2): our classes with pytorchcv's weights give pytorchcv's outputs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lecture21.models import create

torch.set_num_threads(1)

_WEIGHTED = (nn.Conv2d, nn.Linear)


def _reference(name: str) -> nn.Module:
    from pytorchcv.model_provider import get_model

    return get_model(name, pretrained=False).eval()


def _options(reference: nn.Module) -> dict:
    """Read pytorchcv's AlexNet-style instance: its widths and its Caffe-style pooling; its LRN
    is ``F.local_response_norm(x, size=5, k=2.0)`` with torch's alpha 1e-4, i.e. 2e-5 in the
    paper's formula (torch divides alpha by the size)."""
    convs = [m for m in reference.features.modules() if isinstance(m, nn.Conv2d)]
    pools = [m for m in reference.features.modules() if isinstance(m, nn.MaxPool2d)]
    return {
        "widths": tuple(c.out_channels for c in convs),
        "ceil_mode": all(p.ceil_mode and p.padding == 0 for p in pools),
        "lrn_alpha": 1e-4 / 5,
    }


@pytest.mark.parametrize("name", ["zfnet", "zfnetb"])
def test_equals_pytorchcv(name):
    torch.manual_seed(0)
    reference = _reference(name)
    with torch.device("meta"):
        ours = create("zfnet", "imagenet", **_options(reference))
    ours = ours.to_empty(device="cpu").eval()
    theirs = [m for m in reference.modules() if isinstance(m, _WEIGHTED)]
    mine = [m for m in ours.modules() if isinstance(m, _WEIGHTED)]
    assert len(theirs) == len(mine) == 8
    for ref, our in zip(theirs, mine):
        assert type(ref) is type(our) and ref.weight.shape == our.weight.shape
        our.load_state_dict(ref.state_dict())
    x = torch.randn(2, 3, 224, 224)  # the classifier expects the 6x6 maps of 224x224 inputs
    with torch.no_grad():
        expected = reference(x)
        torch.testing.assert_close(ours(x), expected, rtol=1e-4, atol=1e-4)
        # The paper's padded pooling and LRN alpha give other numbers: the options matter.
        paper = create("zfnet", "imagenet", widths=_options(reference)["widths"]).eval()
        paper.load_state_dict(ours.state_dict())
        assert not torch.allclose(paper(x), expected, rtol=1e-3, atol=1e-3)


def test_zfnetb_is_the_wider_model_of_table_2():
    with torch.device("meta"):
        model = create("zfnet", "imagenet", widths=(96, 256, 512, 1024, 512))
    assert [layer.conv.out_channels for layer in model.features] == [96, 256, 512, 1024, 512]
    with pytest.raises(ValueError, match="lrn_alpha"):
        create("zfnet", lrn_alpha=0.0)
