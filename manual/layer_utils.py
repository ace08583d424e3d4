"""The sandwich layers of cs231n's layer_utils.py: a few layers composed forward, and their
backward passes composed in reverse (each cache holds its parts' caches, in forward order).

Return orders are the course's: a forward returns (out, cache); a backward returns the gradients
in the forward's argument order (dx, dw, db, then dgamma, dbeta where the sandwich has them).
"""

from typing import NamedTuple

from .activations import ReluCache, relu_backward, relu_forward
from .convolution import (
    ConvCache,
    MaxPoolCache,
    conv_backward_naive,
    conv_forward_naive,
    max_pool_backward_naive,
    max_pool_forward_naive,
)
from .layers import AffineCache, affine_backward, affine_forward
from .normalization import (
    BatchnormCache,
    LayernormCache,
    batchnorm_backward,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
)
from .spatial import SpatialBatchnormCache, spatial_batchnorm_backward, spatial_batchnorm_forward

__all__ = [
    "affine_relu_forward",
    "affine_relu_backward",
    "affine_bn_relu_forward",
    "affine_bn_relu_backward",
    "affine_ln_relu_forward",
    "affine_ln_relu_backward",
    "conv_relu_forward",
    "conv_relu_backward",
    "conv_relu_pool_forward",
    "conv_relu_pool_backward",
    "conv_bn_relu_forward",
    "conv_bn_relu_backward",
]


class AffineReluCache(NamedTuple):
    """Caches of `affine_relu_forward`'s parts."""

    fc: AffineCache
    relu: ReluCache


class AffineBnReluCache(NamedTuple):
    """Caches of `affine_bn_relu_forward`'s parts."""

    fc: AffineCache
    bn: BatchnormCache
    relu: ReluCache


class AffineLnReluCache(NamedTuple):
    """Caches of `affine_ln_relu_forward`'s parts."""

    fc: AffineCache
    ln: LayernormCache
    relu: ReluCache


class ConvReluCache(NamedTuple):
    """Caches of `conv_relu_forward`'s parts."""

    conv: ConvCache
    relu: ReluCache


class ConvReluPoolCache(NamedTuple):
    """Caches of `conv_relu_pool_forward`'s parts."""

    conv: ConvCache
    relu: ReluCache
    pool: MaxPoolCache


class ConvBnReluCache(NamedTuple):
    """Caches of `conv_bn_relu_forward`'s parts."""

    conv: ConvCache
    bn: SpatialBatchnormCache
    relu: ReluCache


def affine_relu_forward(x, w, b):
    """Compute relu(affine(x, w, b)).

    x: (N, d_1, ..., d_k); w: (D, M); b: (M,); out: (N, M).
    """
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, AffineReluCache(fc=fc_cache, relu=relu_cache)


def affine_relu_backward(dout, cache):
    """Compute the gradients of relu(affine(x, w, b)) w.r.t. x, w and b.

    dout: (N, M); returns dx: x's shape, dw: (D, M), db: (M,).
    da = dout * (a > 0); (dx, dw, db) = affine_backward(da).
    """
    da = relu_backward(dout, cache.relu)
    return affine_backward(da, cache.fc)


def affine_bn_relu_forward(x, w, b, gamma, beta, bn_param):
    """Compute relu(batchnorm(affine(x, w, b), gamma, beta, bn_param)).

    x: (N, d_1, ..., d_k); w: (D, M); b, gamma, beta: (M,); out: (N, M).
    bn_param as for `batchnorm_forward` (train mode writes the running statistics back).
    """
    a, fc_cache = affine_forward(x, w, b)
    an, bn_cache = batchnorm_forward(a, gamma, beta, bn_param)
    out, relu_cache = relu_forward(an)
    return out, AffineBnReluCache(fc=fc_cache, bn=bn_cache, relu=relu_cache)


def affine_bn_relu_backward(dout, cache):
    """Compute the gradients of the affine-batchnorm-relu sandwich.

    dout: (N, M); returns dx: x's shape, dw: (D, M), db: (M,), dgamma: (M,), dbeta: (M,).
    dan = dout * (an > 0); (da, dgamma, dbeta) = batchnorm_backward(dan);
    (dx, dw, db) = affine_backward(da).
    """
    dan = relu_backward(dout, cache.relu)
    da, dgamma, dbeta = batchnorm_backward(dan, cache.bn)
    dx, dw, db = affine_backward(da, cache.fc)
    return dx, dw, db, dgamma, dbeta


def affine_ln_relu_forward(x, w, b, gamma, beta, ln_param):
    """Compute relu(layernorm(affine(x, w, b), gamma, beta, ln_param)).

    x: (N, d_1, ..., d_k); w: (D, M); b, gamma, beta: (M,); out: (N, M).
    """
    a, fc_cache = affine_forward(x, w, b)
    an, ln_cache = layernorm_forward(a, gamma, beta, ln_param)
    out, relu_cache = relu_forward(an)
    return out, AffineLnReluCache(fc=fc_cache, ln=ln_cache, relu=relu_cache)


def affine_ln_relu_backward(dout, cache):
    """Compute the gradients of the affine-layernorm-relu sandwich.

    dout: (N, M); returns dx: x's shape, dw: (D, M), db: (M,), dgamma: (M,), dbeta: (M,).
    dan = dout * (an > 0); (da, dgamma, dbeta) = layernorm_backward(dan);
    (dx, dw, db) = affine_backward(da).
    """
    dan = relu_backward(dout, cache.relu)
    da, dgamma, dbeta = layernorm_backward(dan, cache.ln)
    dx, dw, db = affine_backward(da, cache.fc)
    return dx, dw, db, dgamma, dbeta


def conv_relu_forward(x, w, b, conv_param):
    """Compute relu(conv(x, w, b, conv_param)).

    x: (N, C, H, W); w: (F, C, HH, WW); b: (F,); out: (N, F, H', W').
    """
    a, conv_cache = conv_forward_naive(x, w, b, conv_param)
    out, relu_cache = relu_forward(a)
    return out, ConvReluCache(conv=conv_cache, relu=relu_cache)


def conv_relu_backward(dout, cache):
    """Compute the gradients of the conv-relu sandwich w.r.t. x, w and b.

    dout: (N, F, H', W'); returns dx: (N, C, H, W), dw: (F, C, HH, WW), db: (F,).
    da = dout * (a > 0); (dx, dw, db) = conv_backward_naive(da).
    """
    da = relu_backward(dout, cache.relu)
    return conv_backward_naive(da, cache.conv)


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """Compute max_pool(relu(conv(x, w, b, conv_param)), pool_param).

    x: (N, C, H, W); w: (F, C, HH, WW); b: (F,); out: (N, F, H'', W'') after pooling.
    """
    a, conv_cache = conv_forward_naive(x, w, b, conv_param)
    s, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward_naive(s, pool_param)
    return out, ConvReluPoolCache(conv=conv_cache, relu=relu_cache, pool=pool_cache)


def conv_relu_pool_backward(dout, cache):
    """Compute the gradients of the conv-relu-pool sandwich w.r.t. x, w and b.

    dout: (N, F, H'', W''); returns dx: (N, C, H, W), dw: (F, C, HH, WW), db: (F,).
    ds = max_pool_backward(dout); da = ds * (a > 0); (dx, dw, db) = conv_backward_naive(da).
    """
    ds = max_pool_backward_naive(dout, cache.pool)
    da = relu_backward(ds, cache.relu)
    return conv_backward_naive(da, cache.conv)


def conv_bn_relu_forward(x, w, b, gamma, beta, conv_param, bn_param):
    """Compute relu(spatial_batchnorm(conv(x, w, b, conv_param), gamma, beta, bn_param)).

    x: (N, C, H, W); w: (F, C, HH, WW); b, gamma, beta: (F,); out: (N, F, H', W').
    """
    a, conv_cache = conv_forward_naive(x, w, b, conv_param)
    an, bn_cache = spatial_batchnorm_forward(a, gamma, beta, bn_param)
    out, relu_cache = relu_forward(an)
    return out, ConvBnReluCache(conv=conv_cache, bn=bn_cache, relu=relu_cache)


def conv_bn_relu_backward(dout, cache):
    """Compute the gradients of the conv-batchnorm-relu sandwich.

    dout: (N, F, H', W'); returns dx: (N, C, H, W), dw: (F, C, HH, WW), db, dgamma, dbeta: (F,).
    dan = dout * (an > 0); (da, dgamma, dbeta) = spatial_batchnorm_backward(dan);
    (dx, dw, db) = conv_backward_naive(da).
    """
    dan = relu_backward(dout, cache.relu)
    da, dgamma, dbeta = spatial_batchnorm_backward(dan, cache.bn)
    dx, dw, db = conv_backward_naive(da, cache.conv)
    return dx, dw, db, dgamma, dbeta
