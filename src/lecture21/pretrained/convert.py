"""Reference implementations (torchvision, timm, pytorchcv) into our own models.

Each model family declares its references next to its builder (``Reference`` in
``lecture21.models.registry``); this module only follows the declaration:

* :func:`reference_model` builds the declared reference;
* :func:`from_reference` builds our model on the meta device, configured by the reference's
  ``options(instance)``, and fills it with the reference's tensors (``assign=True``): **by name**
  where our module names equal the reference's (after the declared ``rename``), and only where
  they differ and no rename is declared, by pairing convolution, linear and batch-norm layers in
  the order they are defined, checking each pair with ``isinstance`` and naming the first one
  that differs.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import torch
from torch import nn

from lecture21.models.registry import Reference, entry

__all__ = ["build_filled", "from_reference", "paired_state_dict", "reference_model"]

#: The layers whose weights order-pairing copies (subclasses included: timm's BatchNormAct2d).
COPIED = (nn.Conv2d, nn.Linear, nn.BatchNorm2d)


def _source_of(instance: nn.Module) -> str:
    root = type(instance).__module__.split(".", 1)[0]
    return {"torchvision": "torchvision", "timm": "timm", "pytorchcv": "pytorchcv"}.get(
        root, root
    )


def _matching(name: str, instance: nn.Module) -> Reference:
    """The declared reference of ``name`` from the library ``instance`` comes from."""
    found = entry(name)
    if not found.references:
        raise ValueError(f"name must be a model that declares a reference, got {name!r}")
    source = _source_of(instance)
    for reference in found.references:
        if reference.source == source:
            return reference
    if len(found.references) == 1:  # a reference defined elsewhere (a test's own module)
        return found.references[0]
    sources = ", ".join(r.source for r in found.references)
    raise ValueError(
        f"reference must come from {sources} for {name!r}, got a {type(instance).__name__} "
        f"from {source}"
    )


def reference_model(
    name: str, source: str | None = None, pretrained: bool = False, **build
) -> nn.Module:
    """The declared reference implementation of our model ``name``, in eval mode.

    Random initialisation unless ``pretrained`` (then the official weights, through the offline
    rules of ``lecture21.pretrained.weights``). ``source`` picks among several references
    (default: the first one with weights); ``build`` adds to the declared builder arguments.
    """
    from lecture21.pretrained import weights as files

    reference = entry(name).reference(source)
    kwargs = {**reference.build, **build}
    if reference.source == "timm":
        import timm

        if pretrained:
            if reference.weights is None:
                raise ValueError(f"the timm reference of {name!r} declares no weights")
            return files.timm_pretrained(reference.weights, **kwargs).eval()
        return timm.create_model(reference.name, pretrained=False, **kwargs).eval()
    if reference.source == "pytorchcv":
        if pretrained:
            return files.pytorchcv_pretrained(reference.name, **kwargs).eval()
        from pytorchcv.model_provider import get_model

        return get_model(reference.name, pretrained=False, **kwargs).eval()
    import torchvision

    builder = getattr(torchvision.models, reference.name)
    if not pretrained:
        return builder(weights=None, **kwargs).eval()
    if reference.weights is None:
        raise ValueError(f"the torchvision reference of {name!r} declares no weights")
    state = files.torchvision_state_dict(reference.weights)
    return build_filled(lambda: builder(weights=None, **kwargs), state, reference.rename,
                        origin=f"the torchvision weights {reference.weights}").eval()


def first_mismatch(state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> str | None:
    """The first way ``state`` is not ``expected``'s tensors, in the model's order (None: it is)."""
    for key, tensor in expected.items():
        if key not in state:
            return f"{key} is missing"
        if tuple(state[key].shape) != tuple(tensor.shape):
            return f"{key} has shape {tuple(state[key].shape)}, expected {tuple(tensor.shape)}"
    extra = [key for key in state if key not in expected]
    return f"{extra[0]} is not a tensor of this model" if extra else None


def build_filled(
    build: Callable[[], nn.Module], state: dict[str, torch.Tensor],
    rename: tuple[tuple[str, str], ...] = (), origin: str = "the weights",
) -> nn.Module:
    """``build()`` on the meta device (no time spent initialising), filled with ``state`` by
    name (strict, ``assign=True``). A model with tensors the state does not hold (non-persistent
    buffers) is built for real and loaded instead.

    A weights file whose keys are not the model's is read through ``rename`` first: torchvision's
    DenseNet files keep the LuaTorch names ``norm.1``, which its own loader renames too.
    Weights of another architecture raise one ``ValueError`` naming ``origin`` (the file), the
    expected architecture and the first mismatching key."""
    with torch.device("meta"):
        model = build()
    if rename and set(state) != set(model.state_dict()):
        state = _renamed(state, rename)
    mismatch = first_mismatch(state, model.state_dict())
    if mismatch is not None:  # one line, not pages of missing keys
        architecture = f"{type(model).__module__}.{type(model).__qualname__}"
        raise ValueError(f"{origin} does not hold the weights of the expected architecture "
                         f"{architecture}: {mismatch}")
    model.load_state_dict(state, strict=True, assign=True)
    if any(t.is_meta for t in (*model.parameters(), *model.buffers())):
        model = build()
        model.load_state_dict(state, strict=True)
    return model


def _renamed(state: dict[str, torch.Tensor], rename: tuple[tuple[str, str], ...]) -> dict:
    renamed = {}
    for key, tensor in state.items():
        for pattern, replacement in rename:
            key = re.sub(pattern, replacement, key)
        renamed[key] = tensor
    return renamed


def _weighted_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, COPIED)]


def _describe(name: str, module: nn.Module) -> str:
    weight = getattr(module, "weight", None)
    shape = tuple(weight.shape) if weight is not None else ()
    return f"{name} {type(module).__name__}{shape}"


def paired_state_dict(reference: nn.Module, model: nn.Module) -> dict[str, torch.Tensor]:
    """The reference's tensors under our names, pairing conv / linear / BN layers in definition
    order (both follow the paper's order). Each pair must be of the same kind (``isinstance``:
    a subclass such as timm's ``BatchNormAct2d`` counts as a ``BatchNorm2d``) with tensors of the
    same names and shapes; a ``ValueError`` names the first pair that is not."""
    ours, theirs = _weighted_layers(model), _weighted_layers(reference)
    state: dict[str, torch.Tensor] = {}
    for index, ((our_name, our), (ref_name, ref)) in enumerate(zip(ours, theirs)):
        kind = next(k for k in COPIED if isinstance(our, k))
        ref_state, our_state = ref.state_dict(), our.state_dict()
        same = isinstance(ref, kind) and set(ref_state) == set(our_state) and all(
            ref_state[k].shape == our_state[k].shape for k in our_state
        )
        if not same:
            raise ValueError(
                f"layer {index} differs: reference {_describe(ref_name, ref)} against our "
                f"{_describe(our_name, our)}; the configurations differ"
            )
        state.update({f"{our_name}.{k}": v for k, v in ref_state.items()})
    if len(ours) != len(theirs):
        longer, side = (ours, "our") if len(ours) > len(theirs) else (theirs, "reference")
        first = _describe(*longer[min(len(ours), len(theirs))])
        raise ValueError(
            f"reference has {len(theirs)} conv/linear/BN layers, our model {len(ours)}: the "
            f"configurations differ (the first unpaired layer is the {side} {first})"
        )
    return state


def _num_classes(reference: nn.Module) -> int:
    """The number of outputs of the reference's last linear or convolutional layer."""
    last = _weighted_layers(reference)[-1][1]
    if isinstance(last, nn.Linear):
        return last.out_features
    if isinstance(last, nn.Conv2d):  # a convolutional classifier (SqueezeNet)
        return last.out_channels
    raise ValueError(f"reference must end with a classifier layer, got {type(last).__name__}")


def from_reference(name: str, reference: nn.Module) -> nn.Module:
    """Our model ``name`` configured like the ``reference`` instance, holding its tensors.

    ``name`` is our registry name; ``reference`` an instance of the implementation its model
    file declares (see :func:`reference_model`). Our model is built on the meta device and
    takes the reference's tensors (``assign=True``: they are shared, not copied) by name, or by
    order-pairing where the names differ and no rename is declared. Eval mode.
    """
    from lecture21.models import create

    if not isinstance(reference, nn.Module):
        raise ValueError(f"reference must be an nn.Module, got {type(reference).__name__}")
    declared = _matching(name, reference)
    options = dict(declared.options(reference)) if declared.options else {}
    options.setdefault("num_classes", _num_classes(reference))
    with torch.device("meta"):
        model = create(name, declared.variant, **options)
    state = _renamed(reference.state_dict(), declared.rename)
    ours = model.state_dict()
    if set(state) != set(ours):
        if declared.rename:
            missing, extra = sorted(set(ours) - set(state)), sorted(set(state) - set(ours))
            raise ValueError(
                f"after the declared rename, the reference's keys differ from ours: "
                f"ours without a counterpart {missing[:3]}, reference's unused {extra[:3]}"
            )
        state = paired_state_dict(reference, model)
        uncovered = sorted(set(ours) - set(state))
        if uncovered:  # e.g. LeNet's fixed RBF code
            raise ValueError(f"our model's {uncovered[0]} has no counterpart in the reference")
    for key, tensor in ours.items():
        if state[key].shape != tensor.shape:
            raise ValueError(
                f"the reference's {key} has shape {tuple(state[key].shape)}, ours "
                f"{tuple(tensor.shape)}: the configurations differ"
            )
    model.load_state_dict(state, strict=True, assign=True)
    left = [n for n, t in (*model.named_parameters(), *model.named_buffers()) if t.is_meta]
    if left:
        raise ValueError(f"our model's {left[0]} was not filled from the reference")
    return model.eval()
