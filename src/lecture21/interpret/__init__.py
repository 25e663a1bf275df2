"""Interpretation methods of the lecture: one file per method family."""

from lecture21.interpret.gradcam import grad_cam, guided_grad_cam, minmax
from lecture21.interpret.gradients import deconvnet, guided_backprop, saliency
from lecture21.interpret.hooks import capture, explaining
from lecture21.interpret.occlusion import occlusion

__all__ = [
    "capture",
    "deconvnet",
    "explaining",
    "grad_cam",
    "guided_backprop",
    "guided_grad_cam",
    "minmax",
    "occlusion",
    "saliency",
]
