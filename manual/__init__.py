"""Hand-derived NumPy forward/backward passes (cs231n layer API).

Protocol:
  * Layers come in pairs ``<name>_forward(...) -> (out, cache)`` and
    ``<name>_backward(dout, cache) -> grads``; grads follow the forward's
    argument order (a single array when the forward takes one array).
  * Caches are ``typing.NamedTuple`` instances with named fields.
  * Losses are single functions ``<name>_loss(x, target) -> (loss, dx)``.
  * Inputs are never modified, except that ``batchnorm_forward`` in train
    mode stores new running statistics in its ``bn_param`` dict.

Only NumPy is used here.
"""

from .activations import (
    elu_backward,
    elu_forward,
    leaky_relu_backward,
    leaky_relu_forward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    softplus_backward,
    softplus_forward,
    tanh_backward,
    tanh_forward,
)
from .layers import affine_backward, affine_forward
from .losses import cross_entropy_loss, mse_loss, softmax_loss, svm_loss
from .normalization import (
    batchnorm_backward,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
)
from .softmax import (
    log_softmax_backward,
    log_softmax_forward,
    softmax_backward,
    softmax_forward,
)

__all__ = [
    "affine_forward",
    "affine_backward",
    "relu_forward",
    "relu_backward",
    "leaky_relu_forward",
    "leaky_relu_backward",
    "elu_forward",
    "elu_backward",
    "sigmoid_forward",
    "sigmoid_backward",
    "tanh_forward",
    "tanh_backward",
    "softplus_forward",
    "softplus_backward",
    "softmax_forward",
    "softmax_backward",
    "log_softmax_forward",
    "log_softmax_backward",
    "softmax_loss",
    "cross_entropy_loss",
    "svm_loss",
    "mse_loss",
    "batchnorm_forward",
    "batchnorm_backward",
    "layernorm_forward",
    "layernorm_backward",
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
