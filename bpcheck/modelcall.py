"""Calling the course's model classes as the battery calls a loss: ``adapt(name, cls)``.

A model record (``Layer.model``; ``bpcheck/registry/models.py``) is judged as a loss whose
arguments are the model's parameters, then its data and hyper-parameters. Its adapter builds
the class with keywords read from its own constructor's signature (the course's keywords differ
by year), replaces ``params`` with the drawn arrays, calls ``loss(X)`` (test mode: the scores)
and then ``loss(X, y)`` (train mode), and answers ``(loss, (grads[k] for k in params))``; the
scores stay on the side for the model's ``scores`` property (``adapted.scores(*args)``).

A model whose ``params`` or ``grads`` keys are not the expected ones raises ``ModelError``
naming the keys, which the battery reports as the model's error.

Standard library and NumPy only, nothing of bpcheck: the grading sandbox's child loads this file
by its path and adapts the submission's classes there, exactly as here.
"""

import inspect

import numpy as np

__all__ = ["ModelError", "adapt", "adapt_all", "MODELS"]


class ModelError(Exception):
    """The model cannot be built or answers off the protocol (its params' or grads' keys)."""


def _keywords(cls, wanted):
    """The constructor keywords of ``wanted`` that ``cls.__init__`` takes (all, if it takes
    ``**kwargs``)."""
    try:
        parameters = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return dict(wanted)
    if any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
        return dict(wanted)
    return {k: v for k, v in wanted.items() if k in parameters}


def _build(cls, wanted):
    model = cls(**_keywords(cls, wanted))
    if not isinstance(getattr(model, "params", None), dict):
        raise ModelError(f"{cls.__name__} has no params dict after __init__")
    return model


def _set_params(model, drawn, expected):
    """Replace the model's params by the drawn arrays (float64), after checking its keys."""
    name = type(model).__name__
    have = set(model.params)
    missing = [k for k in expected if k not in have]
    extra = sorted(have - set(expected))
    if missing or extra:
        parts = [f"lacks {', '.join(repr(k) for k in missing)}"] if missing else []
        parts += [f"has unexpected {', '.join(repr(k) for k in extra)}"] if extra else []
        raise ModelError(f"{name}'s params {' and '.join(parts)} (expected exactly "
                         f"{', '.join(expected)})")
    for key in expected:
        model.params[key] = np.array(drawn[key], dtype=np.float64)


def _grads(model, answer, expected, zero):
    """The gradients in ``expected``'s order from a ``(loss, grads)`` answer; ``zero``: names
    the model does not have (a configuration without them), answered with zeros."""
    name = type(model).__name__
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        raise ModelError(f"{name}.loss(X, y) must return (loss, grads), got "
                         f"{type(answer).__name__}")
    loss, grads = answer
    if not isinstance(grads, dict):
        raise ModelError(f"{name}.loss(X, y)'s grads is a {type(grads).__name__}, not a dict "
                         f"keyed as params")
    own = [k for k in expected if k not in zero]
    missing = [k for k in own if k not in grads]
    extra = sorted(set(grads) - set(own))
    if missing:
        raise ModelError(f"{name}.loss(X, y)'s grads has no {', '.join(repr(k) for k in missing)}"
                         f" (grads must have one entry per entry of params)")
    if extra:
        raise ModelError(f"{name}.loss(X, y)'s grads has keys that params lacks: "
                         f"{', '.join(repr(k) for k in extra)}")
    return loss, tuple(np.zeros_like(zero[k]) if k in zero else grads[k] for k in expected)


def _two_layer_net(cls, W1, b1, W2, b2, X, y, reg):
    D, H = np.shape(W1)
    model = _build(cls, dict(input_dim=D, hidden_dim=H, num_classes=np.shape(W2)[1],
                             weight_scale=1e-3, reg=reg))
    _set_params(model, dict(W1=W1, b1=b1, W2=W2, b2=b2), ("W1", "b1", "W2", "b2"))
    scores = model.loss(X)
    return scores, _grads(model, model.loss(X, y), ("W1", "b1", "W2", "b2"), {})


def _neural_net(cls, W1, b1, W2, b2, X, y, reg):
    D, H = np.shape(W1)
    model = _build(cls, dict(input_size=D, hidden_size=H, output_size=np.shape(W2)[1], std=1e-4))
    _set_params(model, dict(W1=W1, b1=b1, W2=W2, b2=b2), ("W1", "b1", "W2", "b2"))
    scores = model.loss(X)
    return scores, _grads(model, model.loss(X, y, reg=reg), ("W1", "b1", "W2", "b2"), {})


#: FullyConnectedNet's parameters, in its record's argument order (two hidden layers).
FC_PARAMS = ("W1", "b1", "W2", "b2", "W3", "b3", "gamma1", "beta1", "gamma2", "beta2")


def _fully_connected_net(cls, W1, b1, W2, b2, W3, b3, gamma1, beta1, gamma2, beta2, X, y,
                         config):
    drawn = dict(zip(FC_PARAMS, (W1, b1, W2, b2, W3, b3, gamma1, beta1, gamma2, beta2)))
    norm, keep = config["normalization"], config["keep"]
    wanted = dict(hidden_dims=[np.shape(W1)[1], np.shape(W2)[1]], input_dim=np.shape(W1)[0],
                  num_classes=np.shape(W3)[1], reg=config["reg"], weight_scale=1e-2,
                  dtype=np.float64, seed=config["seed"])
    signature = _keywords(cls, {"dropout_keep_ratio": 0, "normalization": 0,
                                "use_batchnorm": 0, "dropout": 0})
    if "dropout_keep_ratio" in signature:  # 2021 on: the keep probability, 1 for none
        wanted.update(dropout_keep_ratio=keep, normalization=norm)
    elif "normalization" in signature:  # 2018-20: dropout is the keep probability
        wanted.update(dropout=keep, normalization=norm)
    elif "use_batchnorm" in signature:  # 2016-17: dropout 0 for none; batchnorm only
        if norm == "layernorm":
            raise ModelError(f"{cls.__name__} takes use_batchnorm, not normalization (the "
                             f"2016-17 API): it has no layer normalization to check")
        wanted.update(dropout=0 if keep == 1 else 1 - keep, use_batchnorm=norm == "batchnorm")
    model = _build(cls, wanted)
    expected = FC_PARAMS if norm else FC_PARAMS[:6]
    zero = {} if norm else {k: drawn[k] for k in FC_PARAMS[6:]}
    _set_params(model, drawn, expected)
    scores = model.loss(X)
    return scores, _grads(model, model.loss(X, y), FC_PARAMS, zero)


def _three_layer_convnet(cls, W1, b1, W2, b2, W3, b3, X, y, reg):
    F, _, k, _ = np.shape(W1)
    model = _build(cls, dict(input_dim=tuple(np.shape(X)[1:]), num_filters=F, filter_size=k,
                             hidden_dim=np.shape(W2)[1], num_classes=np.shape(W3)[1],
                             weight_scale=1e-3, reg=reg, dtype=np.float64))
    names = ("W1", "b1", "W2", "b2", "W3", "b3")
    _set_params(model, dict(zip(names, (W1, b1, W2, b2, W3, b3))), names)
    scores = model.loss(X)
    return scores, _grads(model, model.loss(X, y), names, {})


#: CaptioningRNN's parameters, in its record's argument order.
CAPTIONING_PARAMS = ("W_proj", "b_proj", "W_embed", "Wx", "Wh", "b", "W_vocab", "b_vocab")


def word_to_idx(vocabulary, null):
    """A vocabulary of ``vocabulary`` words with '<NULL>' at index ``null``."""
    words = (["<START>", "<END>", "<UNK>"] + [f"w{i}" for i in range(vocabulary)])[:vocabulary - 1]
    words.insert(null, "<NULL>")
    return {w: i for i, w in enumerate(words)}


def _captioning_rnn(cls, W_proj, b_proj, W_embed, Wx, Wh, b, W_vocab, b_vocab, features,
                    captions, null, cell_type):
    model = _build(cls, dict(word_to_idx=word_to_idx(np.shape(W_embed)[0], null),
                             input_dim=np.shape(W_proj)[0], wordvec_dim=np.shape(W_embed)[1],
                             hidden_dim=np.shape(W_proj)[1], cell_type=cell_type,
                             dtype=np.float64))
    drawn = dict(zip(CAPTIONING_PARAMS, (W_proj, b_proj, W_embed, Wx, Wh, b, W_vocab, b_vocab)))
    _set_params(model, drawn, CAPTIONING_PARAMS)
    return None, _grads(model, model.loss(features, captions), CAPTIONING_PARAMS, {})


#: Registry name -> adapter(cls, *args) -> (test-mode scores or None, (loss, grads tuple)).
MODELS = {
    "TwoLayerNet": _two_layer_net,
    "neural_net_TwoLayerNet": _neural_net,
    "FullyConnectedNet": _fully_connected_net,
    "ThreeLayerConvNet": _three_layer_convnet,
    "CaptioningRNN": _captioning_rnn,
}


def adapt(name, obj):
    """``obj`` as the battery calls it: a model class under a registry name becomes a function
    of the record's arguments returning (loss, grads), with ``.scores(*args)``; a class without a
    ``loss`` method there is None (not defined); anything else is returned as it is."""
    adapter = MODELS.get(name)
    if adapter is None or not isinstance(obj, type):
        return obj
    if not callable(getattr(obj, "loss", None)):
        return None  # a class of another kind under the name (a torch module): not the course's

    def loss(*args):
        return adapter(obj, *args)[1]

    def scores(*args):
        return adapter(obj, *args)[0]

    loss.__name__ = loss.__qualname__ = name
    loss.__wrapped_model__ = obj
    loss.scores = scores
    return loss


def adapt_all(functions):
    """A name -> function mapping with every model class in it adapted (and other classes
    under a model's name left out)."""
    adapted = {name: adapt(name, obj) for name, obj in functions.items()}
    return {name: function for name, function in adapted.items() if function is not None}
