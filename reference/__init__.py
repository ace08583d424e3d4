"""JAX reference models: forward values only, same arguments as ``manual``.

Every function returns only its output array (layers) or scalar loss
(losses). Nothing here is a derivative: gradients come from ``jax.vjp`` /
``jax.grad`` applied to these functions. All functions are pure (no state
updates) and jit-compatible once string arguments such as a batchnorm mode
are treated as static.
"""

from .activations import elu, leaky_relu, relu, sigmoid, softplus, tanh
from .layers import affine
from .losses import cross_entropy_loss, mse_loss, softmax_loss, svm_loss
from .normalization import batchnorm, layernorm
from .softmax import log_softmax, softmax

__all__ = [
    "affine",
    "relu",
    "leaky_relu",
    "elu",
    "sigmoid",
    "tanh",
    "softplus",
    "softmax",
    "log_softmax",
    "softmax_loss",
    "cross_entropy_loss",
    "svm_loss",
    "mse_loss",
    "batchnorm",
    "layernorm",
]

# Whole models and matrix-calculus identities (issue 3): each module lists its names in __all__.
from . import deep_networks as _deep_networks  # noqa: E402
from . import identities as _identities  # noqa: E402
from . import mlp as _mlp  # noqa: E402
from . import networks as _networks  # noqa: E402
from .deep_networks import *  # noqa: E402,F401,F403
from .identities import *  # noqa: E402,F401,F403
from .mlp import *  # noqa: E402,F401,F403
from .networks import *  # noqa: E402,F401,F403

__all__ = [*__all__, *_networks.__all__, *_deep_networks.__all__, *_identities.__all__,
           *_mlp.__all__]
