"""Time our occlusion, saliency and Grad-CAM against captum and pytorch-grad-cam.

Same model (torchvision ResNet-18, random weights), same input, same device; the median of a
few repeats after a warm-up. Prints one row per method with the ratio theirs / ours (> 1: ours
is faster). Run: ``python benchmarks/interpret_speed.py [--device cuda] [--size 64] [--batch 8]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torchvision
from captum.attr import LayerGradCam, Occlusion, Saliency
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from lecture21 import config, interpret


def timed(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Median seconds of ``fn`` over ``repeats`` runs after one warm-up run."""
    fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> list[dict[str, object]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--size", type=int, default=32, help="input side in pixels")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--window", type=int, default=8)
    parser.add_argument("--stride", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    device = config.get_device(args.device)
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10).eval().to(device)
    x = torch.randn(args.batch, 3, args.size, args.size, device=device)
    target = torch.arange(args.batch, device=device) % 10
    # The same number of occluded images per forward pass for both: captum evaluates
    # ``perturbations_per_eval`` copies of each of the B images at once.
    w, s, per_eval = args.window, args.stride, 32
    batch_size = per_eval * args.batch
    occluder = Occlusion(model)

    def captum_occlusion(perturbations: int) -> Callable[[], object]:
        return lambda: occluder.attribute(
            x, sliding_window_shapes=(3, w, w), strides=(3, s, s), target=target,
            baselines=0.0, perturbations_per_eval=perturbations,
        )

    def pytorch_grad_cam() -> object:
        with GradCAM(model, [model.layer4]) as cam:
            return cam(x, targets=[ClassifierOutputTarget(int(t)) for t in target])

    pairs = {
        "occlusion (captum per_eval=1, default)": (
            lambda: interpret.occlusion(model, x, target, w, s, batch_size=batch_size),
            captum_occlusion(1),
        ),
        f"occlusion (captum per_eval={per_eval})": (
            lambda: interpret.occlusion(model, x, target, w, s, batch_size=batch_size),
            captum_occlusion(per_eval),
        ),
        "saliency (captum)": (
            lambda: interpret.saliency(model, x, target),
            lambda: Saliency(model).attribute(x.clone(), target=target, abs=True).amax(1),
        ),
        "Grad-CAM (captum)": (
            lambda: interpret.grad_cam(model, x, target, "layer4"),
            lambda: LayerGradCam(model, model.layer4).attribute(
                x, target=target, relu_attributions=True),
        ),
        "Grad-CAM upsampled (pytorch-grad-cam)": (
            lambda: interpret.minmax(interpret.grad_cam(model, x, target, "layer4", True)),
            pytorch_grad_cam,
        ),
    }
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"device: {device} ({name}), threads: {torch.get_num_threads()}, ResNet-18, "
          f"input {tuple(x.shape)}, occlusion window {w} stride {s}")
    print(f"{'method':42s} {'ours, ms':>10s} {'theirs, ms':>11s} {'theirs/ours':>12s}")
    rows = []
    for label, (ours, theirs) in pairs.items():
        t_ours = timed(ours, device, args.repeats)
        t_theirs = timed(theirs, device, args.repeats)
        rows.append({"method": label, "ours_s": t_ours, "theirs_s": t_theirs,
                     "ratio": t_theirs / t_ours})
        print(f"{label:42s} {1e3 * t_ours:10.1f} {1e3 * t_theirs:11.1f} "
              f"{t_theirs / t_ours:12.2f}", flush=True)
    return rows


if __name__ == "__main__":
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning)
    main()
