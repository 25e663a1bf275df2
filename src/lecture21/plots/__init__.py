"""Every figure the notebooks show, drawn with matplotlib; titles and labels in Russian.

One file per topic; this package re-exports their public functions so that a notebook only
needs ``from lecture21 import plots``. ``python -m lecture21.plots DIR`` (``make figures``)
redraws the figures kept in ``img/``.
"""

from lecture21.plots.architectures import *  # noqa: F403
from lecture21.plots.architectures import __all__ as _architectures
from lecture21.plots.base import *  # noqa: F403
from lecture21.plots.base import __all__ as _base
from lecture21.plots.densenet import *  # noqa: F403
from lecture21.plots.densenet import __all__ as _densenet
from lecture21.plots.depth import *  # noqa: F403
from lecture21.plots.depth import __all__ as _depth
from lecture21.plots.ilsvrc_depth import *  # noqa: F403
from lecture21.plots.ilsvrc_depth import __all__ as _ilsvrc_depth
from lecture21.plots.interpret import *  # noqa: F403
from lecture21.plots.interpret import __all__ as _interpret
from lecture21.plots.mobile import *  # noqa: F403
from lecture21.plots.mobile import __all__ as _mobile
from lecture21.plots.residual import *  # noqa: F403
from lecture21.plots.residual import __all__ as _residual
from lecture21.plots.signals import *  # noqa: F403
from lecture21.plots.signals import __all__ as _signals
from lecture21.plots.top_patches import *  # noqa: F403
from lecture21.plots.top_patches import __all__ as _top_patches
from lecture21.plots.training import *  # noqa: F403
from lecture21.plots.training import __all__ as _training

__all__ = [
    *_architectures, *_base, *_densenet, *_depth, *_ilsvrc_depth, *_interpret, *_mobile,
    *_residual, *_signals, *_top_patches, *_training,
]
