"""The sandwich layers of cs231n's layer_utils.py in JAX: forward values only, composed from the
single layers' twins with the same arguments as ``manual.layer_utils``'s forwards."""

from .activations import relu
from .convolution import conv, max_pool
from .layers import affine
from .normalization import batchnorm, layernorm
from .spatial import spatial_batchnorm

__all__ = [
    "affine_relu",
    "affine_bn_relu",
    "affine_ln_relu",
    "conv_relu",
    "conv_relu_pool",
    "conv_bn_relu",
]


def affine_relu(x, w, b):
    """relu(affine(x, w, b)); x: (N, d_1, ..., d_k), w: (D, M), b: (M,); out: (N, M)."""
    return relu(affine(x, w, b))


def affine_bn_relu(x, w, b, gamma, beta, bn_param):
    """relu(batchnorm(affine(x, w, b), gamma, beta, bn_param)); gamma, beta: (M,); out: (N, M)."""
    return relu(batchnorm(affine(x, w, b), gamma, beta, bn_param))


def affine_ln_relu(x, w, b, gamma, beta, ln_param):
    """relu(layernorm(affine(x, w, b), gamma, beta, ln_param)); gamma, beta: (M,); out: (N, M)."""
    return relu(layernorm(affine(x, w, b), gamma, beta, ln_param))


def conv_relu(x, w, b, conv_param):
    """relu(conv(x, w, b, conv_param)); x: (N, C, H, W), w: (F, C, HH, WW); out: (N, F, H', W')."""
    return relu(conv(x, w, b, conv_param))


def conv_relu_pool(x, w, b, conv_param, pool_param):
    """max_pool(relu(conv(x, w, b, conv_param)), pool_param); out: (N, F, H'', W'')."""
    return max_pool(relu(conv(x, w, b, conv_param)), pool_param)


def conv_bn_relu(x, w, b, gamma, beta, conv_param, bn_param):
    """relu(spatial_batchnorm(conv(x, w, b, conv_param), gamma, beta, bn_param)); gamma, beta:
    (F,); out: (N, F, H', W')."""
    return relu(spatial_batchnorm(conv(x, w, b, conv_param), gamma, beta, bn_param))
