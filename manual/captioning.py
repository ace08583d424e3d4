"""The course's image-captioning model (``classifiers/rnn.py``): ``CaptioningRNN``.

features (N, D) → h0 = features W_proj + b_proj → the embedded input words (captions[:, :-1])
through a tanh RNN or an LSTM → a temporal affine map to the vocabulary → the temporal softmax
loss against the next words (captions[:, 1:]), masked where the target is <NULL>. No
regularisation.
"""

import numpy as np

from .embedding import (
    temporal_affine_backward, temporal_affine_forward, temporal_softmax_loss,
    word_embedding_backward, word_embedding_forward,
)
from .recurrent import lstm_backward, lstm_forward, rnn_backward, rnn_forward

__all__ = ["CaptioningRNN"]


class CaptioningRNN:
    """Image captioning with a tanh RNN or an LSTM (``rnn.CaptioningRNN``).

    ``__init__(word_to_idx, input_dim, wordvec_dim, hidden_dim, cell_type, dtype)``; params
    W_proj (D, H), b_proj (H,), W_embed (V, W), Wx (W, kH), Wh (H, kH), b (kH,), W_vocab (H, V),
    b_vocab (V,), with k = 1 for 'rnn' and 4 for 'lstm'. ``loss(features, captions) ->
    (loss, grads)``, captions (N, T + 1) integers; grads keyed as params.
    """

    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128,
                 cell_type="rnn", dtype=np.float32):
        if cell_type not in ("rnn", "lstm"):
            raise ValueError(f"invalid cell_type {cell_type!r}")
        self.cell_type, self.dtype = cell_type, dtype
        self.word_to_idx = word_to_idx
        self._null = word_to_idx["<NULL>"]
        V, k = len(word_to_idx), {"rnn": 1, "lstm": 4}[cell_type]
        rng = np.random.default_rng(0)
        shapes = {"W_embed": (V, wordvec_dim), "W_proj": (input_dim, hidden_dim),
                  "b_proj": (hidden_dim,), "Wx": (wordvec_dim, k * hidden_dim),
                  "Wh": (hidden_dim, k * hidden_dim), "b": (k * hidden_dim,),
                  "W_vocab": (hidden_dim, V), "b_vocab": (V,)}
        self.params = {name: (rng.standard_normal(shape) / np.sqrt(shape[0])
                              if name[0] == "W" else np.zeros(shape)).astype(dtype)
                       for name, shape in shapes.items()}

    def loss(self, features, captions):
        p = self.params
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        mask = captions_out != self._null
        h0 = features @ p["W_proj"] + p["b_proj"]
        x, embed_cache = word_embedding_forward(captions_in, p["W_embed"])
        forward, backward = ((rnn_forward, rnn_backward) if self.cell_type == "rnn"
                             else (lstm_forward, lstm_backward))
        h, cell_cache = forward(x, h0, p["Wx"], p["Wh"], p["b"])
        scores, vocab_cache = temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])
        loss, dscores = temporal_softmax_loss(scores, captions_out, mask)
        grads = {}
        dh, grads["W_vocab"], grads["b_vocab"] = temporal_affine_backward(dscores, vocab_cache)
        dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = backward(dh, cell_cache)
        grads["W_embed"] = word_embedding_backward(dx, embed_cache)
        grads["W_proj"] = features.T @ dh0
        grads["b_proj"] = dh0.sum(axis=0)
        return loss, grads
