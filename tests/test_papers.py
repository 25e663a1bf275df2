"""The lecture's claims beside their sources: well-formed, cited, and checked where computable."""

import re
from pathlib import Path

import pytest
import torchvision

from lecture21 import measure, models, papers

BIB = (Path(__file__).resolve().parents[1] / "book" / "references.bib").read_text("utf-8")


def test_every_claim_cites_an_entry_of_the_bibliography():
    keys = set(re.findall(r"^@\w+\{([^,]+),", BIB, flags=re.M))
    for name, claim in papers.CLAIMS.items():
        assert claim.cite in keys, (name, claim.cite)
        assert claim.source and claim.where, name


def test_vgg_table2_against_our_models_and_torchvision():
    for name, millions in papers.VGG_TABLE2_PARAMS_M.items():
        import torch

        with torch.device("meta"):
            ours = measure.count_parameters(models.create(name, "imagenet"))
        assert ours == papers.torchvision_parameters(name)
        assert round(ours / 1e6) == millions, name


def test_googlenet_figures_against_the_paper_sized_model():
    import torch

    with torch.device("meta"):
        net = models.create("googlenet", "imagenet", aux_logits=False)
        alexnet = models.create("alexnet", "imagenet")
    params = measure.count_parameters(net)
    assert abs(params / papers.claim("googlenet_params").value - 1) < 0.05
    assert round(measure.macs(net, (1, 3, 224, 224)) / 1e9, 1) in (1.5, 1.6)
    # torchvision's GoogLeNet (BN, 3x3 in the "5x5" branch) is smaller than the paper's.
    assert papers.torchvision_parameters("googlenet", aux_logits=False,
                                         init_weights=False) < params
    # "12x fewer parameters than AlexNet": the paper-sized networks give about 9x.
    assert 8 < measure.count_parameters(alexnet) / params < 10


def test_lenet_claims_against_the_1998_network():
    net = models.create("lenet5", paper=True)
    assert measure.count_parameters(net) == papers.claim("lenet_params").value
    assert papers.claim("lenet_layers").value == 7  # C1 S2 C3 S4 C5 F6 output
    assert len([n for n, _ in net.named_children()]) == 7


def test_bad_names_are_clear_errors():
    with pytest.raises(ValueError, match="key must be one of"):
        papers.claim("lenet6")
    with pytest.raises(ValueError, match="torchvision.models builder"):
        papers.torchvision_parameters("not_a_net")
    assert callable(torchvision.models.vgg16)
