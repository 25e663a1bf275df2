"""Weight initialisation for the networks without batch norm (slide "Обучение CNN").

PyTorch's default for ``nn.Conv2d`` and ``nn.Linear`` (``kaiming_uniform_(a=sqrt(5))``) gives
weights of variance ``1 / (3 fan_in)``: each ReLU layer then passes on about a sixth of the
signal's second moment, so through AlexNet's eight layers (and its local response
normalisation) the logits are nearly constant, the gradients vanish and the loss stays at
``ln 10``. He, Zhang, Ren, Sun (2015), "Delving deep into rectifiers", section 2.2: with
weights of variance ``2 / fan_in`` a ReLU layer keeps the second moment of its input, so a deep
plain network starts where it can learn. That is :func:`kaiming_init`.
"""

from __future__ import annotations

from torch import nn

__all__ = ["INITS", "initialise", "kaiming_init"]

#: Initialisations a builder's ``init`` option accepts.
INITS = ("default", "kaiming")


def kaiming_init(model: nn.Module) -> nn.Module:
    """He et al. (2015) initialisation, in place: every convolution and hidden linear layer gets
    ``N(0, 2 / fan_in)`` weights and zero biases; the output layer (the last ``nn.Linear``) gets
    ``N(0, 0.01^2)`` so that the first logits are small and the first loss is ``ln(classes)``.
    Returns ``model``."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    for i, layer in enumerate(layers):
        if isinstance(layer, nn.Linear) and i == len(layers) - 1:
            nn.init.normal_(layer.weight, std=0.01)
        else:
            nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    return model


def initialise(model: nn.Module, init: str) -> nn.Module:
    """Apply the initialisation named ``init`` (one of :data:`INITS`) to ``model``, in place."""
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(INITS)}, got {init!r}")
    if init == "kaiming":
        kaiming_init(model)
    return model
