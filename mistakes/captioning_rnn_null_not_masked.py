"""CaptioningRNN's loss counts the <NULL> padding: the temporal softmax loss without its mask.

Shows whenever a target word is <NULL>: the loss and every gradient include the padding's terms.
"""

import numpy as np

LAYER = "CaptioningRNN"
BROKEN = ("CaptioningRNN",)
CATCHES = ("forward", "vjp")
DIAGNOSIS = "counts the <NULL> targets"


class CaptioningRNN:
    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128,
                 cell_type="rnn", dtype=np.float32):
        self.cell_type, self.null = cell_type, word_to_idx["<NULL>"]
        V, k = len(word_to_idx), 4 if cell_type == "lstm" else 1
        shapes = {"W_embed": (V, wordvec_dim), "W_proj": (input_dim, hidden_dim),
                  "b_proj": (hidden_dim,), "Wx": (wordvec_dim, k * hidden_dim),
                  "Wh": (hidden_dim, k * hidden_dim), "b": (k * hidden_dim,),
                  "W_vocab": (hidden_dim, V), "b_vocab": (V,)}
        self.params = {name: np.random.randn(*shape) * 0.01 for name, shape in shapes.items()}

    def loss(self, features, captions):
        p = self.params
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        N, T = captions_in.shape
        H = p["Wh"].shape[0]
        h0 = features @ p["W_proj"] + p["b_proj"]
        x = p["W_embed"][captions_in]
        hs, cs, gates = np.zeros((N, T, H)), np.zeros((N, T, H)), []
        h, c = h0, np.zeros_like(h0)
        for t in range(T):
            a = x[:, t] @ p["Wx"] + h @ p["Wh"] + p["b"]
            if self.cell_type == "rnn":
                h = np.tanh(a)
                gates.append(None)
            else:
                i, f, o = (1 / (1 + np.exp(-a[:, j * H:(j + 1) * H])) for j in range(3))
                g = np.tanh(a[:, 3 * H:])
                c = f * c + i * g
                gates.append((i, f, o, g, cs[:, t - 1] if t else np.zeros_like(c)))
                cs[:, t] = c
                h = o * np.tanh(c)
            hs[:, t] = h
        scores = hs @ p["W_vocab"] + p["b_vocab"]
        shifted = scores - scores.max(axis=2, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
        n_idx, t_idx = np.meshgrid(np.arange(N), np.arange(T), indexing="ij")
        loss = -log_p[n_idx, t_idx, captions_out].sum() / N  # mistake: no mask of <NULL>
        dscores = np.exp(log_p)
        dscores[n_idx, t_idx, captions_out] -= 1
        dscores /= N
        grads = {"W_vocab": np.einsum("nth,ntv->hv", hs, dscores), "b_vocab": dscores.sum((0, 1))}
        dhs = dscores @ p["W_vocab"].T
        grads.update(Wx=np.zeros_like(p["Wx"]), Wh=np.zeros_like(p["Wh"]),
                     b=np.zeros_like(p["b"]), W_embed=np.zeros_like(p["W_embed"]))
        dh, dc = np.zeros((N, H)), np.zeros((N, H))
        for t in reversed(range(T)):
            dh = dh + dhs[:, t]
            prev_h = hs[:, t - 1] if t else h0
            if self.cell_type == "rnn":
                da = dh * (1 - hs[:, t] ** 2)
            else:
                i, f, o, g, prev_c = gates[t]
                tanh_c = np.tanh(cs[:, t])
                dc = dc + dh * o * (1 - tanh_c ** 2)
                da = np.concatenate([dc * g * i * (1 - i), dc * prev_c * f * (1 - f),
                                     dh * tanh_c * o * (1 - o), dc * i * (1 - g ** 2)], axis=1)
                dc = dc * f
            grads["Wx"] += x[:, t].T @ da
            grads["Wh"] += prev_h.T @ da
            grads["b"] += da.sum(axis=0)
            np.add.at(grads["W_embed"], captions_in[:, t], da @ p["Wx"].T)
            dh = da @ p["Wh"].T
        grads["W_proj"], grads["b_proj"] = features.T @ dh, dh.sum(axis=0)
        return loss, grads
