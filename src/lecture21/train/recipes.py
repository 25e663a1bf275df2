"""Hyperparameters of a run and the recipe of each model.

:class:`HyperParams` holds every hyperparameter of a run; :meth:`HyperParams.for_profile` gives
the defaults of a profile, then a model's :class:`Recipe`, then explicit overrides. A recipe's
learning rate is stated for its ``lr_batch_size``; another batch size scales it linearly
(Goyal et al., 2017).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from lecture21.config import Profile, get_profile

__all__ = ["EXPERIMENTS", "RECIPES", "HyperParams", "Recipe", "recipe_for"]


@dataclass(frozen=True)
class Recipe:
    """How one model trains: its peak ``lr`` as stated for ``lr_batch_size`` images per step,
    other hyperparameters (``hp``: any :class:`HyperParams` field), model ``options`` (a width),
    and per profile (``profiles["quick"]``) changes of all of these plus the training subset
    (``train_size`` / ``test_size``; ``None`` is the whole split)."""

    lr: float | None = None
    lr_batch_size: int = 128
    hp: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    profiles: dict[str, dict] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.lr is not None and not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        if not isinstance(self.lr_batch_size, int) or self.lr_batch_size < 1:
            raise ValueError(f"lr_batch_size must be a positive int, got {self.lr_batch_size!r}")
        allowed = {f.name for f in fields(HyperParams)}
        for where, values in (("hp", self.hp), *((f"profiles[{p!r}]", v)
                                                  for p, v in self.profiles.items())):
            extra = {"lr", "lr_batch_size", "options", "train_size", "test_size"}
            unknown = sorted(set(values) - allowed - (extra if where != "hp" else set()))
            if unknown:
                raise ValueError(f"recipe {where} has unknown key(s) {', '.join(unknown)}")

    def for_profile(self, profile: str) -> Recipe:
        """This recipe with the changes of ``profile`` applied (no per-profile entries left)."""
        changes = dict(self.profiles.get(profile, {}))
        hp = {k: v for k, v in changes.items()
              if k not in {"lr", "lr_batch_size", "options", "train_size", "test_size"}}
        sizes = {k: changes[k] for k in ("train_size", "test_size") if k in changes}
        return Recipe(
            changes.get("lr", self.lr), changes.get("lr_batch_size", self.lr_batch_size),
            {**self.hp, **hp}, {**self.options, **changes.get("options", {})},
            {profile: sizes} if sizes else {},
        )

    def sizes(self, profile: Profile) -> tuple[int | None, int | None]:
        """The training and test subset sizes of ``profile`` (the profile's own by default)."""
        changes = self.profiles.get(profile.name, {})
        return (changes.get("train_size", profile.train_size),
                changes.get("test_size", profile.test_size))


@dataclass(frozen=True)
class HyperParams:
    """Every hyperparameter of a run; :meth:`for_profile` gives the defaults of a profile.

    ``lr`` is the peak learning rate, reached after ``warmup_fraction`` of the steps (linear
    warmup from zero), then decayed to zero (``decay``: ``"linear"`` or ``"cosine"``).
    ``crop_padding`` pixels of zero padding for the random crop (0: no crop), ``flip``: random
    horizontal flips, ``cutout``: side of the Cutout square (0: none), ``tta_flip``: evaluate on
    the image and its mirror image. ``eval_every`` epochs the test set is evaluated (the last
    epoch always is).
    """

    epochs: int = 10
    batch_size: int = 128
    lr: float = 0.05
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    warmup_fraction: float = 0.2
    decay: str = "linear"
    crop_padding: int = 4
    flip: bool = True
    cutout: int = 0
    tta_flip: bool = True
    compile: bool = False
    eval_every: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        positive = {"epochs": self.epochs, "batch_size": self.batch_size,
                    "eval_every": self.eval_every}
        for name, value in positive.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        for name in ("crop_padding", "cutout", "seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing!r}")
        if not 0 <= self.warmup_fraction < 1:
            raise ValueError(f"warmup_fraction must be in [0, 1), got {self.warmup_fraction!r}")
        if self.decay not in ("linear", "cosine"):
            raise ValueError(f"decay must be 'linear' or 'cosine', got {self.decay!r}")

    @classmethod
    def for_profile(
        cls, profile: Profile | str | None = None, recipe: str | Recipe | None = None,
        **overrides,
    ) -> HyperParams:
        """Defaults for a profile (``None``: the current one), a recipe, then overrides.

        The profile gives ``epochs`` and ``batch_size``; the recipe (a model name of
        :data:`RECIPES`, or a :class:`Recipe`) its hyperparameters and its learning rate,
        scaled linearly from ``lr_batch_size`` to the batch size used; ``overrides`` win.
        """
        if not isinstance(profile, Profile):
            profile = get_profile(profile)
        unknown = sorted(set(overrides) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown hyperparameter(s) {', '.join(unknown)}")
        chosen = recipe_for(recipe).for_profile(profile.name)
        values: dict = {"epochs": profile.epochs, "batch_size": profile.batch_size}
        values.update(chosen.hp)
        values.update(overrides)
        if chosen.lr is not None and "lr" not in overrides:
            values["lr"] = chosen.lr * values["batch_size"] / chosen.lr_batch_size
        return cls(**values)

    def replace(self, **changes) -> HyperParams:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return replace(self, **changes)


#: One recipe per model that differs from the defaults of :class:`HyperParams`. ``quick`` is
#: what two CPU cores learn in a notebook's five-minute budget: the whole 50,000-image training
#: set for a few epochs beats more epochs on a 10,000-image subset at equal compute (measured:
#: simple_cnn 70.4 % against 68.6 %), and the networks without batch norm start from He et al.'s
#: initialisation (``lecture21.models.init``), without which AlexNet's loss never leaves ln 10.
_NO_AUGMENTATION = {"crop_padding": 0, "flip": False, "label_smoothing": 0.0, "tta_flip": False}

RECIPES: dict[str, Recipe] = {
    # Page's DAWNBench ResNet-9: batch 512, peak lr 0.4, label smoothing 0.2, weight decay 5e-4.
    # quick: width 16, three epochs of 40,000 images at batch 128 (lr scaled to 0.1), flips but
    # no random crop: three epochs do not overfit, and the crop only slows learning (measured on
    # 2 cores, 3 epochs: 42,000 images 80.95 % without the crop, 78.7 % with it; 38,000 without:
    # 80.35 % in 191 s; all 50,000 with it: 81.0 % in 257 s). A batch of 128 trains faster per
    # image than 512 on a CPU and takes four times the steps (81.8 % in 4 epochs at 512: ~450 s).
    "resnet9": Recipe(lr=0.4, lr_batch_size=512,
                      hp={"label_smoothing": 0.2, "weight_decay": 5e-4},
                      profiles={"quick": {"train_size": 40_000, "epochs": 3, "batch_size": 128,
                                          "crop_padding": 0, "options": {"width": 16}}}),
    # ResNet-18 on CIFAR-10 (kuangliu/pytorch-cifar style): lr 0.1 at batch 128.
    "resnet18": Recipe(lr=0.1, lr_batch_size=128, hp={"weight_decay": 5e-4}),
    # The typical CNN of the first slide: no batch norm, so He initialisation. quick: 2 epochs
    # of augmented images do not overfit, so dropout would only slow learning (measured for
    # AlexNet: 63.7 % in 2 epochs without it, 59.0 % in 3 with it); 40,000 images keep the
    # notebook within five minutes on 2 cores.
    "simple_cnn": Recipe(lr=0.05, options={"init": "kaiming"},
                         profiles={"quick": {"train_size": 40_000, "epochs": 2,
                                             "options": {"dropout": 0.0}}}),
    # Dropout's lesson needs overfitting: 2,000 images, 20 epochs, no augmentation, a narrow net.
    "dropout": Recipe(lr=0.05, hp={**_NO_AUGMENTATION, "batch_size": 64, "epochs": 20,
                                   "eval_every": 20},
                      options={"widths": (16, 32), "hidden": 512, "init": "kaiming"},
                      profiles={"smoke": {"train_size": 500, "epochs": 2, "eval_every": 2},
                                "quick": {"train_size": 2_000},
                                "full": {"train_size": 2_000}}),
    "lenet5": Recipe(lr=0.05, profiles={"quick": {"train_size": None, "epochs": 5}}),
    # No batch norm: He initialisation. On a CPU local response normalisation costs half the
    # time even in our faster form (measured), so quick drops it (VGG, section 4.1: it does not
    # help), and dropout too (2 epochs do not overfit). All 50,000 images: on 40,000 ZFNet
    # stays under 60 % (measured 58.8 %; 50,000: 64.5 %, AlexNet 63.7 %).
    **{name: Recipe(lr=0.05, options={"init": "kaiming"},
                    profiles={"smoke": {"options": {"width": 0.125}},
                              "quick": {"train_size": None, "epochs": 2,
                                        "options": {"width": 0.25, "lrn": False,
                                                    "dropout": 0.0}}})
       for name in ("alexnet", "zfnet")},
    # Batch norm: the generic recipe; quick at twice its learning rate (batch norm tolerates it,
    # and it learns faster in few epochs), narrow, without dropout and without the random crop
    # for the CPU's few epochs, which do not overfit (measured on 2 cores, without / with the
    # crop: VGG-11 75.4 / 69.9 %, VGG-16 67.4 / 63.4 %, GoogLeNet 55.4 / 52.5 %, same times).
    "vgg11": Recipe(profiles={"smoke": {"options": {"width": 0.125}},
                              "quick": {"train_size": None, "epochs": 2, "lr": 0.1,
                                        "crop_padding": 0,
                                        "options": {"width": 0.25, "dropout": 0.0}}}),
    "vgg16": Recipe(profiles={"smoke": {"options": {"width": 0.125}},
                              "quick": {"train_size": None, "epochs": 2, "lr": 0.1,
                                        "crop_padding": 0,
                                        "options": {"width": 0.125, "dropout": 0.0}}}),
    # GoogLeNet is the slowest per image on a CPU (many small branches): one epoch on 30,000.
    "googlenet": Recipe(profiles={"smoke": {"options": {"width": 0.125}},
                                  "quick": {"train_size": 30_000, "epochs": 1, "lr": 0.1,
                                            "crop_padding": 0,
                                            "options": {"width": 0.125, "dropout": 0.0}}}),
    # He et al.'s CIFAR networks (section 4.2): SGD, lr 0.1 at batch 128, weight decay 1e-4.
    # The degradation experiment of notebook 06 (figure 6): training error of plain and
    # residual networks of 20 and 56 layers with one budget, no augmentation (the question is
    # optimisation, not generalisation). quick: channels 8/16/32 and 1,000 images for 3 epochs
    # fit the CPU budget and already separate plain-56 from plain-20. full (GPU, not measured):
    # the paper's widths on the whole training set.
    **{name: Recipe(lr=0.1, hp={**_NO_AUGMENTATION, "weight_decay": 1e-4, "batch_size": 64},
                    profiles={"smoke": {"train_size": 256, "test_size": 128, "epochs": 1,
                                        "options": {"width": 4}},
                              "quick": {"train_size": 1_000, "test_size": 500, "epochs": 3,
                                        "options": {"width": 8}},
                              "full": {"batch_size": 128}})
       for name in ("plain20", "plain56", "resnet20", "resnet56")},
    # DenseNet against ResNet at an equal CPU budget (notebook 08). Both have batch norm: lr 0.1
    # at batch 128 (He et al. 2016, section 4.2; Huang et al. 2017 use 0.1 at batch 64). On two
    # cores (measured, quick) DenseNet-BC (L=22) trains at 136-189 images/s, ResNet-20 at
    # 179-222: one epoch of all 50,000 took DenseNet-BC 265 s for 56.0 % (ResNet-20, 2 x 40,000
    # images: 360 s, 66.3 %); 22,000 / 26,000 images took 162 / 145 s for 44.4 / 52.1 %. The
    # notebook's five minutes leave under two minutes of training each: 16,000 / 20,000
    # images took 89 / 65 s for 40.0 / 47.7 % (the notebook 199 s); without the random crop,
    # which one epoch does not need (no overfitting), 71 / 65 s for 42.1 / 53.5 %.
    "densenet_bc": Recipe(lr=0.1, profiles={"smoke": {"options": {"depth": 22}},
                                            "quick": {"train_size": 16_000, "epochs": 1,
                                                      "crop_padding": 0,
                                                      "options": {"depth": 22}}}),
    "resnet20_vs_densenet": Recipe(lr=0.1, profiles={"quick": {"train_size": 20_000,
                                                               "epochs": 1,
                                                               "crop_padding": 0}}),
    # The mobile networks' CIFAR variants (notebook 09): batch norm, the same lr. On two cores
    # ShuffleNet v2 (0.5x) trains at 315-333 images/s on two cores (measured, quick: one epoch
    # of 30,000 images, 95 s, 42.1 %; two epochs of 35,000, 210 s, 53.0 %, the notebook 247 s;
    # the same without the random crop, which two epochs do not need: 188 s, 57.4 %).
    "shufflenet_v2_x1_0": Recipe(lr=0.1, profiles={"quick": {"train_size": 35_000,
                                                             "epochs": 2,
                                                             "crop_padding": 0}}),
}

#: Experiments' recipes (``train_or_load(model, data, recipe=EXPERIMENTS[...])``): one budget
#: for the runs an experiment compares.
EXPERIMENTS: dict[str, Recipe] = {
    # Notebook 07: ResNet-56 with and without stochastic depth (Huang et al. 2016) and with the
    # last batch norm of each block zero-initialised (Goyal et al. 2017), the same epochs.
    # Augmented as in the papers: the train-test gap is one of the measured effects. quick:
    # channels 8/16/32, 2,000 images, 4 epochs; full (GPU, not measured): width 16, all images.
    "resnet56_variants": Recipe(lr=0.1, hp={"weight_decay": 1e-4, "batch_size": 64},
                                profiles={"smoke": {"train_size": 256, "test_size": 128,
                                                    "epochs": 1, "options": {"width": 4}},
                                          "quick": {"train_size": 2_000, "test_size": 500,
                                                    "epochs": 4, "options": {"width": 8}},
                                          "full": {"batch_size": 128}}),
}


def recipe_for(recipe: str | Recipe | None) -> Recipe:
    """``recipe`` itself, the recipe of a model name (the empty recipe for a model without one),
    or the empty recipe for ``None``."""
    if isinstance(recipe, Recipe):
        return recipe
    if recipe is None:
        return Recipe()
    if not isinstance(recipe, str):
        raise ValueError(f"recipe must be a model name or a Recipe, got {type(recipe).__name__}")
    return RECIPES.get(recipe, Recipe())
