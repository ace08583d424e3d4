"""Classic wrong versions of the course's models in JAX, for naming a failure that matches one
(``bpcheck.layer.KnownMistake``). Same arguments as the right twins in ``reference.models``.

A mistake in the gradient alone keeps the right value and changes the derivative with
``jax.lax.stop_gradient`` on the part whose gradient is missing.
"""

import jax
import jax.numpy as jnp

from .losses import softmax_loss, svm_loss
from .models import _fc_scores, three_layer_convnet_scores, two_layer_net_scores

__all__ = [
    "two_layer_net_reg_unhalved", "two_layer_net_reg_not_in_grads",
    "two_layer_net_bias_regularised", "convnet_reg_unhalved", "convnet_reg_not_in_grads",
    "convnet_bias_regularised", "fc_net_reg_unhalved", "fc_net_reg_not_in_grads",
    "fc_net_bias_regularised", "fc_net_batchnorm_test_mode_in_train",
    "fc_net_dropout_off_in_train", "svm_reg_gradient_halved", "svm_reg_not_in_gradient",
    "softmax_reg_gradient_halved", "softmax_reg_not_in_gradient",
    "captioning_rnn_null_not_masked",
]


def _sq(*arrays):
    return sum(jnp.sum(a * a) for a in arrays)


def two_layer_net_reg_unhalved(W1, b1, W2, b2, X, y, reg):
    """L2 as reg · ΣW² where the model's is 0.5 · reg · ΣW²."""
    return softmax_loss(two_layer_net_scores(W1, b1, W2, b2, X), y) + reg * _sq(W1, W2)


def two_layer_net_reg_not_in_grads(W1, b1, W2, b2, X, y, reg):
    """The loss regularised, the weights' gradients without reg · W."""
    data = softmax_loss(two_layer_net_scores(W1, b1, W2, b2, X), y)
    return data + jax.lax.stop_gradient(0.5 * reg * _sq(W1, W2))


def two_layer_net_bias_regularised(W1, b1, W2, b2, X, y, reg):
    """The biases regularised too."""
    data = softmax_loss(two_layer_net_scores(W1, b1, W2, b2, X), y)
    return data + 0.5 * reg * _sq(W1, W2, b1, b2)


def convnet_reg_unhalved(W1, b1, W2, b2, W3, b3, X, y, reg):
    scores = three_layer_convnet_scores(W1, b1, W2, b2, W3, b3, X, y, reg)
    return softmax_loss(scores, y) + reg * _sq(W1, W2, W3)


def convnet_reg_not_in_grads(W1, b1, W2, b2, W3, b3, X, y, reg):
    scores = three_layer_convnet_scores(W1, b1, W2, b2, W3, b3, X, y, reg)
    return softmax_loss(scores, y) + jax.lax.stop_gradient(0.5 * reg * _sq(W1, W2, W3))


def convnet_bias_regularised(W1, b1, W2, b2, W3, b3, X, y, reg):
    scores = three_layer_convnet_scores(W1, b1, W2, b2, W3, b3, X, y, reg)
    return softmax_loss(scores, y) + 0.5 * reg * _sq(W1, W2, W3, b1, b2, b3)


def _fc_data(W1, b1, W2, b2, W3, b3, gamma1, beta1, gamma2, beta2, X, y, config, mode="train",
             dropout=True):
    config = config if dropout else {**config, "masks": None}
    scores = _fc_scores(W1, b1, W2, b2, W3, b3, gamma1, beta1, gamma2, beta2, X, config, mode)
    return softmax_loss(scores, y)


def fc_net_reg_unhalved(W1, b1, W2, b2, W3, b3, gamma1, beta1, gamma2, beta2, X, y, config):
    data = _fc_data(W1, b1, W2, b2, W3, b3, gamma1, beta1, gamma2, beta2, X, y, config)
    return data + config["reg"] * _sq(W1, W2, W3)


def fc_net_reg_not_in_grads(W1, b1, W2, b2, W3, b3, gamma1, beta1, gamma2, beta2, X, y, config):
    data = _fc_data(W1, b1, W2, b2, W3, b3, gamma1, beta1, gamma2, beta2, X, y, config)
    return data + jax.lax.stop_gradient(0.5 * config["reg"] * _sq(W1, W2, W3))


def fc_net_bias_regularised(W1, b1, W2, b2, W3, b3, gamma1, beta1, gamma2, beta2, X, y, config):
    data = _fc_data(W1, b1, W2, b2, W3, b3, gamma1, beta1, gamma2, beta2, X, y, config)
    return data + 0.5 * config["reg"] * _sq(W1, W2, W3, b1, b2, b3)


def fc_net_batchnorm_test_mode_in_train(W1, b1, W2, b2, W3, b3, gamma1, beta1, gamma2, beta2, X,
                                        y, config):
    """Train-mode loss with batchnorm left in test mode (a fresh model's running statistics)."""
    data = _fc_data(W1, b1, W2, b2, W3, b3, gamma1, beta1, gamma2, beta2, X, y, config, "test",
                    dropout=True)
    return data + 0.5 * config["reg"] * _sq(W1, W2, W3)


def fc_net_dropout_off_in_train(W1, b1, W2, b2, W3, b3, gamma1, beta1, gamma2, beta2, X, y,
                                config):
    """Train-mode loss without dropout (its mode left at 'test')."""
    data = _fc_data(W1, b1, W2, b2, W3, b3, gamma1, beta1, gamma2, beta2, X, y, config,
                    dropout=False)
    return data + 0.5 * config["reg"] * _sq(W1, W2, W3)


def _classifier(data_loss, halved):
    def twin(W, X, y, reg, factor):
        penalty = factor * reg * _sq(W)
        if halved:  # the value f·reg·ΣW², the gradient f·reg·W (half of 2·f·reg·W)
            return data_loss(X @ W, y) + 0.5 * penalty + jax.lax.stop_gradient(0.5 * penalty)
        return data_loss(X @ W, y) + jax.lax.stop_gradient(penalty)
    return twin


def svm_reg_gradient_halved(W, X, y, reg, factor):
    """The loss's regularisation factor·reg·ΣW², dW's factor·reg·W (half its gradient)."""
    return _classifier(svm_loss, True)(W, X, y, reg, factor)


def svm_reg_not_in_gradient(W, X, y, reg, factor):
    """The loss regularised, dW without its regularisation term."""
    return _classifier(svm_loss, False)(W, X, y, reg, factor)


def softmax_reg_gradient_halved(W, X, y, reg, factor):
    return _classifier(softmax_loss, True)(W, X, y, reg, factor)


def softmax_reg_not_in_gradient(W, X, y, reg, factor):
    return _classifier(softmax_loss, False)(W, X, y, reg, factor)


def captioning_rnn_null_not_masked(W_proj, b_proj, W_embed, Wx, Wh, b, W_vocab, b_vocab,
                                   features, captions, null, cell_type):
    """The temporal softmax loss over every target, <NULL> padding included (no mask)."""
    from .models import captioning_rnn_loss

    return captioning_rnn_loss(W_proj, b_proj, W_embed, Wx, Wh, b, W_vocab, b_vocab, features,
                               captions, -1, cell_type)
