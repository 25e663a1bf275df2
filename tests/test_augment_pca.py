"""AlexNet's PCA colour augmentation, checked against scikit-learn's PCA (not written here)."""

import pytest
import torch

from lecture21 import augment_pca

sklearn_decomposition = pytest.importorskip("sklearn.decomposition")


def _images(n=6, seed=0):
    generator = torch.Generator().manual_seed(seed)
    base = torch.rand(n, 8, 8, 1, generator=generator)
    mix = torch.tensor([[0.9, 0.7, 0.4]]) * base + 0.1 * torch.rand(n, 8, 8, 3,
                                                                    generator=generator)
    return (mix.clamp(0, 1) * 255).round().to(torch.uint8)


def test_components_equal_sklearn_pca():
    images = _images()
    ours = augment_pca.rgb_principal_components(images)
    pixels = images.reshape(-1, 3).double().numpy() / 255
    reference = sklearn_decomposition.PCA(n_components=3).fit(pixels)
    torch.testing.assert_close(ours.eigenvalues.double(),
                               torch.from_numpy(reference.explained_variance_), rtol=1e-5,
                               atol=1e-8)
    # Eigenvectors are defined up to sign: compare |cosine| of each pair.
    cosine = (ours.eigenvectors.double().T * torch.from_numpy(reference.components_)).sum(1)
    torch.testing.assert_close(cosine.abs(), torch.ones(3, dtype=torch.float64), rtol=0,
                               atol=1e-5)


def test_offset_has_alpha_lambda_along_each_component():
    components = augment_pca.rgb_principal_components(_images())
    alpha = torch.tensor([[0.3, -1.0, 2.0], [0.0, 0.0, 0.0]])
    offset = augment_pca.colour_offset(components, alpha)
    along = offset @ components.eigenvectors  # coordinates in the eigenbasis
    torch.testing.assert_close(along, alpha * components.eigenvalues)


def test_colours_on_a_line_shift_along_that_line_only():
    direction = torch.tensor([0.8, 0.5, 0.2])
    t = torch.linspace(0, 1, 4 * 5 * 5).reshape(4, 5, 5, 1)
    images = 0.1 + 0.8 * t * direction  # every colour on one line: covariance of rank one
    components = augment_pca.rgb_principal_components(images)
    assert components.eigenvalues[1:].abs().max() < 1e-6 * components.eigenvalues[0]
    shifted = augment_pca.fancy_pca(images, components, std=1.0,
                                    generator=torch.Generator().manual_seed(1))
    offset = (shifted - images).reshape(4, -1, 3)
    # One shift per image, the same for every pixel, parallel to the line.
    torch.testing.assert_close(offset, offset[:, :1].expand_as(offset))
    unit = direction / direction.norm()
    cross = torch.linalg.cross(offset[:, 0], unit.expand(4, 3))
    assert cross.abs().max() < 1e-5 and offset.abs().max() > 0


def test_paper_scale_of_the_shift():
    components = augment_pca.rgb_principal_components(_images())
    flat = torch.zeros(20_000, 1, 1, 3) + 0.5
    shifted = augment_pca.fancy_pca(flat, components, generator=torch.Generator().manual_seed(0))
    along = (shifted - flat).reshape(-1, 3) @ components.eigenvectors
    expected = augment_pca.PAPER_ALPHA_STD * components.eigenvalues
    torch.testing.assert_close(along.std(0), expected, rtol=0.03, atol=1e-7)


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match=r"images must be a \(N, H, W, 3\) tensor"):
        augment_pca.rgb_principal_components(torch.zeros(2, 3, 8, 8))
    components = augment_pca.rgb_principal_components(_images())
    with pytest.raises(ValueError, match="alpha must have shape"):
        augment_pca.colour_offset(components, torch.zeros(2))
    with pytest.raises(ValueError, match="std must be >= 0"):
        augment_pca.fancy_pca(_images(), components, std=-1)
