"""rnnkit: recurrent networks in numpy, as forward/backward pairs.

Dimension legend used throughout: T time, B batch, D input, H hidden, K output.
Sequences are time-major ``(T, B, D)``; weights are ``(out, in)``.
"""
from .layers import *  # noqa: F401,F403
from .layers import __all__ as _layers_all
from .gradcheck import GradReport, check_layer_gradients, numerical_gradient, rel_error

__version__ = "0.1.0"
__all__ = list(_layers_all) + ["GradReport", "check_layer_gradients", "numerical_gradient", "rel_error"]
