"""How long the notebooks' training takes on a GPU, estimated from multiply-adds (issue 16).

The estimate is the arithmetic of the slide "Вычислительная сложность": one forward pass costs
the model's multiply-adds (MACs) per example, 2 FLOPs each; training costs about three forward
passes (the backward pass computes gradients with respect to both activations and weights, two
products of the forward's size); so one epoch is ``2 * 3 * MACs * images`` FLOPs, and its time
that number divided by the accelerator's peak throughput times the fraction of it the code
reaches (the utilisation).

Peaks are the vendors' published figures. NVIDIA T4 Tensor Core GPU datasheet (2019,
https://www.nvidia.com/en-us/data-center/tesla-t4/): 65 TFLOPS in mixed precision (float16
tensor cores), 8.1 TFLOPS in float32. Small CIFAR networks reach a fraction of a peak: Page's
ResNet-9 (0.38 G MACs) trained 10 epochs in 26 s on one V100 (125 TFLOPS tensor peak), about
35 %; :data:`DEFAULT_UTILISATION` assumes that. The course's generic engine and narrow networks
(LeNet-5: 0.7 M MACs per image) reach less, so read an estimate as a lower bound of the time,
and replace it by a measurement (``benchmarks/gpu_check.py``) where a GPU is at hand.

:data:`FULL_RUNS` lists every training run of every notebook in the ``full`` profile, as the
notebooks run them today (a test checks that each still appears in its notebook).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch.utils.flop_counter import FlopCounterMode

from lecture21.config import PROFILES

__all__ = [
    "DEFAULT_UTILISATION",
    "FULL_RUNS",
    "T4",
    "Accelerator",
    "NotebookRun",
    "estimate_seconds",
    "evaluation_flops",
    "forward_macs",
    "notebook_budgets",
    "training_flops",
]

DEFAULT_UTILISATION = 0.35


@dataclass(frozen=True)
class Accelerator:
    """A device's published peak throughput (FLOP/s) per precision, and where it is published."""

    name: str
    peak_flops: dict[str, float]
    source: str


T4 = Accelerator(
    "NVIDIA T4",
    {"fp16": 65e12, "fp32": 8.1e12},
    "NVIDIA T4 Tensor Core GPU datasheet (2019): 65 TFLOPS mixed precision, 8.1 TFLOPS FP32",
)


def _check_non_negative(**values: float) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{name} must be a non-negative number, got {value!r}")


def training_flops(macs_per_example: float, examples: int, epochs: float) -> float:
    """FLOPs of training: ``2 * 3 * MACs * examples * epochs`` (forward + backward = 3 forwards)."""
    _check_non_negative(macs_per_example=macs_per_example, examples=examples, epochs=epochs)
    return 6.0 * macs_per_example * examples * epochs


def evaluation_flops(macs_per_example: float, examples: int, passes: float = 1) -> float:
    """FLOPs of ``passes`` forward passes over ``examples`` (2 per multiply-add)."""
    _check_non_negative(macs_per_example=macs_per_example, examples=examples, passes=passes)
    return 2.0 * macs_per_example * examples * passes


def estimate_seconds(
    flops: float,
    accelerator: Accelerator = T4,
    precision: str = "fp16",
    utilisation: float = DEFAULT_UTILISATION,
) -> float:
    """Seconds to compute ``flops`` at ``utilisation`` of ``accelerator``'s ``precision`` peak."""
    _check_non_negative(flops=flops)
    if precision not in accelerator.peak_flops:
        raise ValueError(f"precision must be one of {sorted(accelerator.peak_flops)} for "
                         f"{accelerator.name}, got {precision!r}")
    if not 0 < utilisation <= 1:
        raise ValueError(f"utilisation must be in (0, 1], got {utilisation!r}")
    return flops / (accelerator.peak_flops[precision] * utilisation)


def forward_macs(model: torch.nn.Module, example: torch.Tensor) -> int:
    """Multiply-adds of one forward pass of ``example`` (a batch of one), in eval mode.

    Like :func:`lecture21.measure.macs`, but for any input (token ids too).
    """
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            model(example)
    finally:
        model.train(was_training)
    return counter.get_total_flops() // 2


@dataclass(frozen=True)
class NotebookRun:
    """One training run of a notebook in the ``full`` profile.

    ``data``: ``"cifar"``, ``"synthetic"`` (the shapes set), ``"text"`` or ``"audio"``;
    ``example_shape``: one example's input (a batch of one); ``tta``: the test set is
    evaluated on each image and its mirror image after every epoch.
    """

    notebook: str
    model: str
    options: dict = field(default_factory=dict)
    variant: str = "cifar"
    data: str = "cifar"
    epochs: int = PROFILES["full"].epochs
    train_examples: int = 50_000
    test_examples: int = 10_000
    tta: bool = True
    example_shape: tuple[int, ...] = (1, 3, 32, 32)
    integer_input: bool = False

    @property
    def label(self) -> str:
        options = ", ".join(f"{k}={v}" for k, v in self.options.items() if k != "vocab_size")
        return f"{self.model}({options})" if options else self.model

    def create(self) -> torch.nn.Module:
        from lecture21.models import create

        return create(self.model, variant=self.variant, num_classes=10, **self.options)

    def example(self) -> torch.Tensor:
        if self.integer_input:
            return torch.zeros(self.example_shape, dtype=torch.long)
        return torch.zeros(self.example_shape)


#: The ``full`` profile's training runs of every notebook (the profile's epochs unless the
#: notebook says otherwise, the whole of CIFAR-10, the test set evaluated with flip TTA after
#: every epoch).
FULL_RUNS: tuple[NotebookRun, ...] = (
    NotebookRun("01_cnn_basics", "simple_cnn"),
    # The recipe "dropout": a narrow simple_cnn, 20 epochs on 2,000 images, no augmentation.
    *(NotebookRun("01_cnn_basics", "simple_cnn", {"widths": (16, 32), "hidden": 512,
                                                    "dropout": p}, train_examples=2_000, tta=False)
      for p in (0.0, 0.5)),
    # make_ngram_task(20000, 5000): sentences of 19 token ids, a vocabulary of 40 words.
    NotebookRun("02_text_and_audio", "text_cnn", {"vocab_size": 40}, variant="text",
                data="text", train_examples=20_000, test_examples=5_000, tta=False,
                example_shape=(1, 19), integer_input=True),
    # FSDD: 2,700 / 300 recordings, log-mel spectrograms of 32 bands x 63 frames, 30 epochs.
    NotebookRun("02_text_and_audio", "audio_cnn", variant="audio", data="audio", epochs=30,
                train_examples=2_700, test_examples=300, tta=False, example_shape=(1, 32, 63)),
    # Notebook 03 explains notebook 01's simple_cnn: loaded from the run cache, not trained.
    NotebookRun("03_interpretation", "resnet9", {"width": 64}, data="synthetic", epochs=30,
                train_examples=20_000, test_examples=1_000, tta=False),
    NotebookRun("04_imagenet_lenet_alexnet_zfnet", "lenet5"),
    NotebookRun("04_imagenet_lenet_alexnet_zfnet", "alexnet", {"width": 1.0}),
    NotebookRun("04_imagenet_lenet_alexnet_zfnet", "zfnet", {"width": 1.0}),
    NotebookRun("05_vgg_googlenet", "vgg11", {"width": 1.0}),
    NotebookRun("05_vgg_googlenet", "vgg16", {"width": 1.0}),
    NotebookRun("05_vgg_googlenet", "googlenet", {"width": 1.0}),
    # The degradation experiment: the paper's widths, no augmentation, no flip TTA.
    *(NotebookRun("06_resnet", name, tta=False)
      for name in ("plain20", "plain56", "resnet20", "resnet56")),
    NotebookRun("06_resnet", "resnet9"),  # simple_cnn beside it is notebook 01's run, cached
    # ResNet-56 as it is, with stochastic depth and with zero-initialised last BN of each block;
    # plain-56 is notebook 06's run, cached.
    *(NotebookRun("07_resnet_improvements", "resnet56", options)
      for options in ({}, {"stochastic_depth": 0.5}, {"zero_init_residual": True})),
    NotebookRun("08_densenet", "densenet_bc"),
    NotebookRun("08_densenet", "resnet20"),
    NotebookRun("09_mobile", "shufflenet_v2_x1_0"),
)


def notebook_budgets(
    runs: tuple[NotebookRun, ...] = FULL_RUNS,
    accelerator: Accelerator = T4,
    precision: str = "fp16",
    utilisation: float = DEFAULT_UTILISATION,
) -> list[dict]:
    """One row per run: notebook, model, MACs per example, training + evaluation FLOPs, and
    the estimated seconds on ``accelerator`` (training and the per-epoch evaluation only)."""
    rows = []
    for run in runs:
        macs = forward_macs(run.create(), run.example())
        flops = training_flops(macs, run.train_examples, run.epochs) + evaluation_flops(
            macs, run.test_examples, passes=run.epochs * (2 if run.tta else 1))
        rows.append({
            "notebook": run.notebook, "model": run.label, "macs": macs, "epochs": run.epochs,
            "flops": flops,
            "seconds": estimate_seconds(flops, accelerator, precision, utilisation),
        })
    return rows


def main() -> None:
    """``python -m lecture21.budget``: the T4 estimates of every notebook's ``full`` runs."""
    fp16, fp32 = notebook_budgets(), notebook_budgets(precision="fp32")
    print(f"{T4.source}; utilisation {DEFAULT_UTILISATION:.0%}; training + per-epoch evaluation")
    print("| notebook | model | MACs | epochs | T4 fp16, s | T4 fp32, s |")
    print("| --- | --- | --- | --- | --- | --- |")
    totals: dict[str, list[float]] = {}
    for a, b in zip(fp16, fp32, strict=True):
        print(f"| {a['notebook']} | {a['model']} | {a['macs'] / 1e6:.1f} M | {a['epochs']} | "
              f"{a['seconds']:.1f} | {b['seconds']:.1f} |")
        total = totals.setdefault(a["notebook"], [0.0, 0.0])
        total[0] += a["seconds"]
        total[1] += b["seconds"]
    for notebook, (a, b) in totals.items():
        print(f"| {notebook} | all runs | | | {a:.0f} | {b:.0f} |")


if __name__ == "__main__":
    main()
