"""LeNet-5 (LeCun, Bottou, Bengio, Haffner 1998, "Gradient-based learning applied to document
recognition", section II.B and figure 2).

Slide "LeNet-5". Layers as in the paper: C1 (6 maps, 5x5), S2 (2x2 subsampling), C3 (16 maps,
5x5, each connected to only some of S2's maps, Table I), S4, C5 (120 maps, 5x5 on 5x5 = fully
connected), F6 (84 units), and 10 Euclidean RBF output units with fixed parameter vectors. The
paper: "The network in figure 2 contains 340,908 connections, but only 60,000 trainable free
parameters because of the weight sharing." C1 156 + S2 12 + C3 1,516 + S4 32 + C5 48,120 +
F6 10,164 = 60,000 exactly (the RBF vectors are fixed, so they are buffers here).

S2 and S4 are not max pooling: each unit sums its 2x2 inputs, multiplies by a trainable
coefficient, adds a trainable bias and applies the sigmoid-like squashing. The squashing
function is the scaled tanh ``1.7159 tanh(2/3 a)`` (appendix A).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lecture21.models.registry import register

#: Table I of the paper: which S2 maps (rows) each of C3's 16 maps (columns) sees.
CONNECTIONS: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


class ScaledTanh(nn.Module):
    """``A tanh(S a)`` with A = 1.7159 and S = 2/3 (appendix A of the paper)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1.7159 * torch.tanh(2.0 / 3.0 * x)


class Subsampling(nn.Module):
    """S2/S4: sum of each 2x2 block times a trainable coefficient plus a trainable bias, one of
    each per map (2 parameters per map)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        summed = F.avg_pool2d(x, 2) * 4
        return summed * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class PartialConv2d(nn.Module):
    """C3: output map ``j`` convolves only the input maps ``connections[j]`` (Table I), to break
    the symmetry between maps and to save connections."""

    layer_kind = "conv"  # lecture21.measure counts it with the convolutions

    def __init__(
        self, connections: tuple[tuple[int, ...], ...], kernel: int = 5
    ) -> None:
        super().__init__()
        self.connections = connections
        self.weights = nn.ParameterList(
            nn.Parameter(torch.empty(1, len(inputs), kernel, kernel)) for inputs in connections
        )
        self.bias = nn.Parameter(torch.zeros(len(connections)))
        for weight in self.weights:
            nn.init.kaiming_uniform_(weight, a=5**0.5)  # nn.Conv2d's default

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = [
            F.conv2d(x[:, list(inputs)], weight)
            for inputs, weight in zip(self.connections, self.weights)
        ]
        return torch.cat(maps, 1) + self.bias.view(1, -1, 1, 1)


class EuclideanRBF(nn.Module):
    """Output layer: ``y_i = sum_j (x_j - w_ij)^2`` with fixed ±1 vectors ``w_i``; the logit is
    ``-y_i``, so the nearest vector wins. The paper drew the vectors as 7x12 bitmaps of the
    characters; here they are a fixed random ±1 code (seeded), which plays the same role."""

    def __init__(self, in_features: int = 84, num_classes: int = 10, seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        code = torch.randint(0, 2, (num_classes, in_features), generator=generator) * 2 - 1
        self.register_buffer("centres", code.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -torch.cdist(x, self.centres) ** 2


class LeNet5(nn.Module):
    """C1 - S2 - C3 - S4 - C5 - F6 - output, read top to bottom like figure 2 of the paper."""

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        connection_table: bool = True,
        subsampling: str = "trainable",
        activation: str = "tanh",
        head: str = "rbf",
    ) -> None:
        super().__init__()
        if subsampling not in {"trainable", "avg", "max"}:
            raise ValueError(
                f"subsampling must be 'trainable', 'avg' or 'max', got {subsampling!r}"
            )
        if activation not in {"tanh", "relu"}:
            raise ValueError(f"activation must be 'tanh' or 'relu', got {activation!r}")
        if head not in {"rbf", "linear"}:
            raise ValueError(f"head must be 'rbf' or 'linear', got {head!r}")

        def act() -> nn.Module:
            return ScaledTanh() if activation == "tanh" else nn.ReLU(inplace=True)

        def pool(channels: int) -> nn.Module:
            if subsampling == "trainable":
                return nn.Sequential(Subsampling(channels), act())
            return nn.AvgPool2d(2) if subsampling == "avg" else nn.MaxPool2d(2)

        self.C1 = nn.Sequential(nn.Conv2d(in_channels, 6, 5), act())  # 32 -> 28
        self.S2 = pool(6)  # 28 -> 14
        c3 = PartialConv2d(CONNECTIONS) if connection_table else nn.Conv2d(6, 16, 5)
        self.C3 = nn.Sequential(c3, act())  # 14 -> 10
        self.S4 = pool(16)  # 10 -> 5
        self.C5 = nn.Sequential(nn.Conv2d(16, 120, 5), act())  # 5 -> 1
        self.F6 = nn.Sequential(nn.Flatten(), nn.Linear(120, 84), act())
        self.output = EuclideanRBF(84, num_classes) if head == "rbf" else nn.Linear(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (32, 32):
            raise ValueError(f"LeNet-5 takes 32x32 inputs, got {tuple(x.shape[-2:])}")
        for layer in (self.C1, self.S2, self.C3, self.S4, self.C5, self.F6, self.output):
            x = layer(x)
        return x


@register("lenet5", variants=("cifar",))
def lenet5(
    variant: str = "cifar",
    num_classes: int = 10,
    paper: bool = False,
    connection_table: bool | None = None,
    subsampling: str | None = None,
    activation: str | None = None,
    head: str | None = None,
) -> LeNet5:
    """LeNet-5. ``paper=True``: the 1998 network exactly (1 input channel, Table I connections,
    trainable subsampling, scaled tanh, RBF output; "only 60,000 trainable free parameters").

    The default cifar version keeps the layers and their sizes but takes 3 colour channels and
    uses what later networks learnt to train faster: full C3 connections, ReLU, 2x2 max pooling
    and a linear output trained with cross-entropy.
    """
    return LeNet5(
        num_classes,
        in_channels=1 if paper else 3,
        connection_table=paper if connection_table is None else connection_table,
        subsampling=subsampling or ("trainable" if paper else "max"),
        activation=activation or ("tanh" if paper else "relu"),
        head=head or ("rbf" if paper else "linear"),
    )
