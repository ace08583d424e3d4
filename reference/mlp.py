"""The multilayer perceptron in JAX, composed from reference/'s twins: the loss value only."""

from . import activations as _act
from .layers import affine
from .losses import mse_loss, softmax_loss, svm_loss

__all__ = ["mlp_loss"]

_HIDDEN = {name: getattr(_act, name)
           for name in ("relu", "leaky_relu", "elu", "sigmoid", "tanh", "softplus")}
_LOSSES = {"softmax_loss": softmax_loss, "svm_loss": svm_loss, "mse_loss": mse_loss}


def mlp_loss(theta, X, y, sizes, activations, loss):
    """The MLP's loss: affine and activation layers, a last affine, then the named loss.

    theta: (P,) packs W_1 (n_0, n_1), b_1 (n_1,), …, W_L, b_L row-major; sizes: (n_0, …, n_L);
    X: (N, n_0); y: labels (N,) or targets (N, n_L); activations: one name per hidden layer.
    """
    a, start = X, 0
    layers = list(zip(sizes[:-1], sizes[1:]))
    for index, (fan_in, fan_out) in enumerate(layers):
        W = theta[start:start + fan_in * fan_out].reshape(fan_in, fan_out)
        start += fan_in * fan_out
        b = theta[start:start + fan_out]
        start += fan_out
        a = affine(a, W, b)
        if index < len(layers) - 1:
            a = _HIDDEN[activations[index]](a)
    return _LOSSES[loss](a, y)
