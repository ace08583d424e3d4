"""A multilayer perceptron of any depth composed from the protocol's layers (NumPy only).

Row convention: X is (N, n_0). Hidden layer ℓ = 1..L−1: affine then an activation chosen by name;
the last layer is affine, followed by a loss chosen by name. Forward and backward are a cs231n
"sandwich": each layer's forward keeps its cache, and the backward unpacks them in reverse.
"""

from . import activations as _act
from ._packing import pack, unpack
from .layers import affine_backward, affine_forward, affine_param_grads
from .losses import mse_loss, softmax_loss, svm_loss

__all__ = ["mlp_loss", "mlp_loss_and_grads"]

HIDDEN = {name: (getattr(_act, f"{name}_forward"), getattr(_act, f"{name}_backward"))
          for name in ("relu", "leaky_relu", "elu", "sigmoid", "tanh", "softplus")}
LOSSES = {"softmax_loss": softmax_loss, "svm_loss": svm_loss, "mse_loss": mse_loss}


def mlp_loss_and_grads(Ws, bs, X, y, activations, loss):
    """Compute an MLP's loss and its gradients by composing the layers' forward/backward pairs.

    Ws[ℓ]: (n_ℓ, n_{ℓ+1}); bs[ℓ]: (n_{ℓ+1},); X: (N, n_0); y: labels (N,) for softmax_loss and
    svm_loss, targets (N, n_L) for mse_loss; activations: one name per hidden layer (L − 1).
    Returns (loss, dWs, dbs).

    Backward, from the loss down: dscores from the loss; for each layer in reverse,
    da_prev, dW, db = affine_backward(dz, cache) with dz = <activation>_backward(da, cache).
    The first layer's input X gets no gradient, so there only dW, db = affine_param_grads(dz,
    cache) (its da_prev = dz·W₁ᵀ would cost as many flops as dW₁ for nothing).
    """
    if len(activations) != len(Ws) - 1:
        raise ValueError(f"{len(Ws)} layers need {len(Ws) - 1} activations, got {len(activations)}")
    a, caches = X, []
    for W, b, name in zip(Ws[:-1], bs[:-1], activations):
        z, affine_cache = affine_forward(a, W, b)
        a, activation_cache = HIDDEN[name][0](z)
        caches.append((affine_cache, activation_cache, name))
    scores, last_cache = affine_forward(a, Ws[-1], bs[-1])
    value, dz = LOSSES[loss](scores, y)
    affine_caches = [affine_cache for affine_cache, _, _ in caches] + [last_cache]
    dWs, dbs = [], []
    for index in reversed(range(len(Ws))):
        if index == 0:
            dW, db = affine_param_grads(dz, affine_caches[0])
        else:
            da, dW, db = affine_backward(dz, affine_caches[index])
            _, activation_cache, name = caches[index - 1]
            dz = HIDDEN[name][1](da, activation_cache)
        dWs.insert(0, dW)
        dbs.insert(0, db)
    return value, dWs, dbs


def mlp_loss(theta, X, y, sizes, activations, loss):
    """The same MLP with its parameters packed in one vector: (loss, dθ).

    theta: (P,) = W_1, b_1, …, W_L, b_L flattened row-major; sizes: (n_0, …, n_L).
    """
    shapes = [s for n_in, n_out in zip(sizes[:-1], sizes[1:]) for s in ((n_in, n_out), (n_out,))]
    params = unpack(theta, shapes)
    value, dWs, dbs = mlp_loss_and_grads(params[0::2], params[1::2], X, y, activations, loss)
    return value, pack([g for pair in zip(dWs, dbs) for g in pair])
