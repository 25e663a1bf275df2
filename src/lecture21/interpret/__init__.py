"""Interpretation methods of the lecture: one file per method family.

Every function takes a model and a batch ``x`` (B, C, H, W); ``target`` is a class index or a
LongTensor of B of them; ``layer`` is a module or its dotted name. Hooks are removed and the
model's mode and ``requires_grad`` flags restored on return, also after an error. Every map is
returned detached, on the CPU; ``cam`` and ``grad_cam`` give it at the layer's resolution unless
``upsample=True``; the order of arguments is always ``(model, x, target, ..., layer)`` where a
method has them (``effective_receptive_field(model, x, layer)``).
"""

from lecture21.helpers import minmax
from lecture21.interpret.cam import cam, cam_and_logits
from lecture21.interpret.class_model import class_model
from lecture21.interpret.gradcam import grad_cam, guided_grad_cam
from lecture21.interpret.gradients import deconvnet, guided_backprop, saliency
from lecture21.interpret.hooks import capture, explaining
from lecture21.interpret.occlusion import occlusion
from lecture21.interpret.quality import (
    area_under_curve,
    deletion_insertion,
    mass_in_mask,
    pointing_game,
    randomize_top_layers,
    spearman,
)
from lecture21.interpret.receptive_field import (
    effective_receptive_field,
    receptive_field,
    receptive_fields,
)
from lecture21.interpret.zfnet_views import activations, first_layer_filters, strongest_channels

__all__ = [
    "activations",
    "area_under_curve",
    "cam",
    "cam_and_logits",
    "capture",
    "class_model",
    "deconvnet",
    "deletion_insertion",
    "effective_receptive_field",
    "explaining",
    "first_layer_filters",
    "grad_cam",
    "guided_backprop",
    "guided_grad_cam",
    "mass_in_mask",
    "minmax",
    "occlusion",
    "pointing_game",
    "randomize_top_layers",
    "receptive_field",
    "receptive_fields",
    "saliency",
    "spearman",
    "strongest_channels",
]
