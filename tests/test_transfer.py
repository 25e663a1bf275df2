"""Transfer of features: the extractor checked against torchvision's feature extraction and the
probe against scikit-learn's own pipeline (neither written here)."""

import numpy as np
import pytest
import torch
import torchvision
from torchvision.models.feature_extraction import create_feature_extractor

from lecture21 import transfer
from lecture21.data import normalize

sklearn = pytest.importorskip("sklearn")


def test_pooled_features_equal_torchvision_feature_extraction():
    torch.manual_seed(0)
    model = torchvision.models.vgg11(num_classes=10).eval()
    images = torch.randint(0, 256, (3, 32, 32, 3), dtype=torch.uint8)
    ours = transfer.pooled_features(model, images, batch_size=2)
    with torch.no_grad():
        maps = create_feature_extractor(model, {"features": "maps"})(normalize(images))["maps"]
    np.testing.assert_allclose(ours, maps.mean((2, 3)).numpy(), rtol=1e-5, atol=1e-6)
    model.train()
    transfer.pooled_features(model, images)
    assert model.training  # left as it was found


def test_linear_probe_is_sklearns_logistic_regression():
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = load_digits(return_X_y=True)
    reference = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000))
    expected = reference.fit(x[:1000], y[:1000]).score(x[1000:], y[1000:])
    assert transfer.linear_probe(x[:1000], y[:1000], x[1000:], y[1000:], c=0.5) == expected
    assert expected > 0.9
    shuffled = np.random.default_rng(0).permutation(y[:1000])  # labels without information
    assert transfer.linear_probe(x[:1000], shuffled, x[1000:], y[1000:]) < 0.3


def test_pixel_features_and_bad_input():
    images = torch.full((2, 4, 4, 3), 255, dtype=torch.uint8)
    assert transfer.pixel_features(images).shape == (2, 48)
    assert transfer.pixel_features(images).max() == 1.0
    with pytest.raises(ValueError, match="`features` module"):
        transfer.pooled_features(torch.nn.Linear(2, 2), images)
    with pytest.raises(ValueError, match="same lengths"):
        transfer.linear_probe(np.zeros((3, 2)), [0, 1], np.zeros((1, 2)), [0])
