"""The course's whole models in JAX, composed from this package's layers: the scalar loss (and,
for the classes, the test-mode scores), nothing else.

Same positional arguments as the records in ``bpcheck/registry/models.py`` (a model's
parameters first, then its data and hyper-parameters). No derivative is written here: every
gradient comes from ``jax.vjp`` / ``jax.value_and_grad`` of these functions. Strings and None
(the normalization, whether dropout is on) are static under jit.
"""

import jax
import jax.numpy as jnp

from .convolution import conv, max_pool
from .dropout import dropout
from .embedding import temporal_affine, temporal_softmax_loss, word_embedding
from .losses import softmax_loss, svm_loss
from .normalization import batchnorm, layernorm
from .recurrent import lstm, rnn

__all__ = [
    "svm_classifier_loss",
    "softmax_classifier_loss",
    "two_layer_net_scores",
    "neural_net_two_layer_loss",
    "fully_connected_net_loss",
    "fully_connected_net_scores",
    "three_layer_convnet_loss",
    "three_layer_convnet_scores",
    "captioning_rnn_loss",
]


def _l2(*weights):
    return sum(jnp.sum(w * w) for w in weights)


def svm_classifier_loss(W, X, y, reg, factor):
    """Linear SVM: W (D, C), X (N, D), y (N,); svm_loss(X W, y) + factor · reg · ΣW² (factor is
    0.5 or 1: the course's years differ)."""
    return svm_loss(X @ W, y) + factor * reg * _l2(W)


def softmax_classifier_loss(W, X, y, reg, factor):
    """Linear softmax classifier: W (D, C), X (N, D), y (N,); softmax_loss(X W, y) + factor ·
    reg · ΣW²."""
    return softmax_loss(X @ W, y) + factor * reg * _l2(W)


def two_layer_net_scores(W1, b1, W2, b2, X):
    """affine - relu - affine: scores (N, C) for X (N, D)."""
    return jax.nn.relu(X @ W1 + b1) @ W2 + b2


def neural_net_two_layer_loss(W1, b1, W2, b2, X, y, reg, factor):
    """The older ``neural_net.TwoLayerNet``: softmax_loss of the two-layer scores + factor · reg ·
    (ΣW1² + ΣW2²)."""
    return softmax_loss(two_layer_net_scores(W1, b1, W2, b2, X), y) + factor * reg * _l2(W1, W2)


def _fc_scores(W1, b1, W2, b2, W3, b3, gamma1, beta1, gamma2, beta2, X, config, mode):
    """{affine - [batchnorm | layernorm] - relu - [dropout]} x 2 - affine, in ``mode``; test mode
    normalises a fresh model's batchnorm by its initial running statistics (0 and 1)."""
    norm = config["normalization"]
    hidden = X.reshape(X.shape[0], -1)
    layers = ((W1, b1, gamma1, beta1), (W2, b2, gamma2, beta2))
    for index, (W, b, gamma, beta) in enumerate(layers):
        hidden = hidden @ W + b
        if norm == "batchnorm":
            hidden = batchnorm(hidden, gamma, beta, {"mode": mode, "eps": 1e-5})
        elif norm == "layernorm":
            hidden = layernorm(hidden, gamma, beta, {"eps": 1e-5})
        hidden = jax.nn.relu(hidden)
        if config["masks"] is not None and mode == "train":
            hidden = dropout(hidden, {"p": config["keep"], "mode": "train"},
                             config["masks"][index])
    return hidden @ W3 + b3


def fully_connected_net_loss(W1, b1, W2, b2, W3, b3, gamma1, beta1, gamma2, beta2, X, y, config):
    """``FullyConnectedNet`` with two hidden layers in train mode: softmax loss + 0.5 · reg ·
    (ΣW1² + ΣW2² + ΣW3²). ``config``: normalization (None, 'batchnorm', 'layernorm'), keep (the
    keep probability), masks (the two dropout masks drawn from the model's seed, or None), reg.
    gamma and beta are unused without normalization (their gradient is then 0)."""
    scores = _fc_scores(W1, b1, W2, b2, W3, b3, gamma1, beta1, gamma2, beta2, X, config, "train")
    return softmax_loss(scores, y) + 0.5 * config["reg"] * _l2(W1, W2, W3)


def fully_connected_net_scores(W1, b1, W2, b2, W3, b3, gamma1, beta1, gamma2, beta2, X, y,
                               config):
    """The same model's test-mode scores (N, C): no dropout, batchnorm by running statistics."""
    return _fc_scores(W1, b1, W2, b2, W3, b3, gamma1, beta1, gamma2, beta2, X, config, "test")


def three_layer_convnet_scores(W1, b1, W2, b2, W3, b3, X, y, reg):
    """conv (stride 1, pad (filter_size - 1) // 2) - relu - 2x2 max pool - affine - relu -
    affine: scores (N, C) for X (N, C_in, H, W)."""
    pad = (W1.shape[2] - 1) // 2
    a = jax.nn.relu(conv(X, W1, b1, {"stride": 1, "pad": pad}))
    a = max_pool(a, {"pool_height": 2, "pool_width": 2, "stride": 2})
    a = jax.nn.relu(a.reshape(a.shape[0], -1) @ W2 + b2)
    return a @ W3 + b3


def three_layer_convnet_loss(W1, b1, W2, b2, W3, b3, X, y, reg):
    """``ThreeLayerConvNet``: softmax loss + 0.5 · reg · (ΣW1² + ΣW2² + ΣW3²)."""
    scores = three_layer_convnet_scores(W1, b1, W2, b2, W3, b3, X, y, reg)
    return softmax_loss(scores, y) + 0.5 * reg * _l2(W1, W2, W3)


def captioning_rnn_loss(W_proj, b_proj, W_embed, Wx, Wh, b, W_vocab, b_vocab, features,
                        captions, null, cell_type):
    """``CaptioningRNN``: h0 = features W_proj + b_proj; the embedded captions[:, :-1] through a
    tanh RNN or an LSTM (``cell_type``, static); temporal affine to the vocabulary; temporal
    softmax loss against captions[:, 1:], masked where it is ``null`` (the <NULL> token)."""
    captions = jnp.asarray(captions)
    captions_in, captions_out = captions[:, :-1], captions[:, 1:]
    h0 = features @ W_proj + b_proj
    x = word_embedding(captions_in, W_embed)
    h = (rnn if cell_type == "rnn" else lstm)(x, h0, Wx, Wh, b)
    scores = temporal_affine(h, W_vocab, b_vocab)
    return temporal_softmax_loss(scores, captions_out, captions_out != null)
