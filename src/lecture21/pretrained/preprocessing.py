"""What pretrained weights expect of an input photo: resize, centre crop, mean and std."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

__all__ = ["IMAGENET_PREPROCESSING", "Preprocessing"]


@dataclass(frozen=True)
class Preprocessing:
    """What the weights expect: RGB in [0, 1] resized to ``input_size``, minus mean, over std."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    input_size: tuple[int, int, int]
    interpolation: str = "bilinear"
    crop_pct: float = 0.875

    def __call__(self, image: np.ndarray | torch.Tensor) -> torch.Tensor:
        """A uint8 ``(H, W, 3)`` photo -> a normalised ``(1, 3, H', W')`` batch.

        Resize the shorter side to ``size / crop_pct``, centre-crop ``size`` (the evaluation
        protocol of timm and torchvision).
        """
        import torch.nn.functional as F

        array = torch.as_tensor(np.asarray(image))
        if array.dtype != torch.uint8 or array.ndim != 3 or array.shape[-1] != 3:
            raise ValueError(
                f"image must be a uint8 array (H, W, 3), got {array.dtype} {tuple(array.shape)}"
            )
        x = array.permute(2, 0, 1)[None].float() / 255
        size = self.input_size[-1]
        short = round(size / self.crop_pct)
        h, w = x.shape[-2:]
        scale = short / min(h, w)
        mode = "bicubic" if self.interpolation == "bicubic" else "bilinear"
        x = F.interpolate(
            x, size=(max(size, round(h * scale)), max(size, round(w * scale))), mode=mode,
            align_corners=False, antialias=True,
        ).clamp(0, 1)
        top, left = (x.shape[-2] - size) // 2, (x.shape[-1] - size) // 2
        x = x[..., top : top + size, left : left + size]
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return (x - mean) / std

    def undo(self, batch: torch.Tensor) -> torch.Tensor:
        """Back to RGB ``(N, H, W, 3)`` floats in [0, 1], for showing the input."""
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return (batch.detach().cpu() * std + mean).clamp(0, 1).permute(0, 2, 3, 1)

    @classmethod
    def from_timm(cls, model: nn.Module) -> Preprocessing:
        """Read ``timm.data.resolve_data_config`` of a timm model."""
        import timm.data

        cfg = timm.data.resolve_data_config({}, model=model)
        return cls(
            tuple(cfg["mean"]), tuple(cfg["std"]), tuple(cfg["input_size"]),
            cfg.get("interpolation", "bilinear"), float(cfg.get("crop_pct", 0.875)),
        )


    @classmethod
    def from_torchvision(cls, weights: str) -> Preprocessing:
        """Read the evaluation transform of a torchvision weights enum
        (``"AlexNet_Weights.IMAGENET1K_V1"``): resize, crop, mean, std, interpolation."""
        import torchvision

        transform = torchvision.models.get_weight(weights).transforms()
        crop, resize = transform.crop_size[0], transform.resize_size[0]
        return cls(
            tuple(transform.mean), tuple(transform.std), (3, crop, crop),
            transform.interpolation.value, crop / resize,
        )


#: The ImageNet preprocessing of pytorchcv's weights (and of torchvision's classic ones):
#: resize 256, centre crop 224, ImageNet mean and std.
IMAGENET_PREPROCESSING = Preprocessing(
    (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), (3, 224, 224), "bilinear", 224 / 256
)
