"""The hand-written code's speed: one training step of a 784-1024-1024-10 relu MLP, batch 512,
float64, with manual/'s gradients and with ``jax.jit(jax.value_and_grad(loss))``.

A step here is the loss and every parameter gradient (the SGD update itself, p -= lr·g, is
~2.6 M multiply-adds in both and left out). The timings — manual step, JAX step, the step's
matrix products alone, and a plain 2048 × 2048 NumPy matmul — are interleaved, ``repeats``
rounds of each, so that the load of a shared machine hits them alike; the table reports the best
round and the median.

GFLOP/s count only the matrix products a step needs: forward X·W₁, H₁·W₂, H₂·W₃; backward
dW_ℓ = H_{ℓ−1}ᵀ·dZ_ℓ for ℓ = 1..3 and dH_ℓ = dZ_{ℓ+1}·W_{ℓ+1}ᵀ for ℓ = 1, 2 — 2·N·(3·Σ fan_in·fan_out
− D·H) flops (no gradient for the input X). The same count is used for both, so the GFLOP/s ratio
is the speed ratio.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

SIZES = (784, 1024, 1024, 10)
BATCH = 512
MATMUL = 2048


@dataclass
class StepTiming:
    manual_best: float
    manual_median: float
    jax_best: float
    jax_median: float
    matmul_best: float
    matmul_median: float
    products_best: float  # the step's matrix products alone, on ready-made operands
    products_median: float
    step_gflop: float
    matmul_gflop: float
    max_gradient_gap: float  # manual vs JAX, relative to each gradient's max-norm

    @property
    def speed_vs_jax(self) -> float:
        """JAX time / manual time (≥ 1: manual is faster)."""
        return self.jax_best / self.manual_best

    @property
    def manual_gflops(self) -> float:
        return self.step_gflop / self.manual_best

    @property
    def jax_gflops(self) -> float:
        return self.step_gflop / self.jax_best

    @property
    def matmul_gflops(self) -> float:
        return self.matmul_gflop / self.matmul_best

    @property
    def products_gflops(self) -> float:
        return self.step_gflop / self.products_best

    def as_json(self) -> dict:
        return {**asdict(self), "speed_vs_jax": self.speed_vs_jax,
                "manual_gflops": self.manual_gflops, "jax_gflops": self.jax_gflops,
                "matmul_gflops": self.matmul_gflops, "products_gflops": self.products_gflops,
                "manual_share_of_matmul_rate": self.manual_gflops / self.matmul_gflops,
                "sizes": SIZES, "batch": BATCH, "matmul": MATMUL}


def step_flops(sizes: tuple[int, ...] = SIZES, n: int = BATCH) -> float:
    """Matrix-product flops of one step: forward, dW for every layer, dH for all but the input."""
    products = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return 2.0 * n * (3 * products - sizes[0] * sizes[1])


def _problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((a, b)) * np.sqrt(2.0 / a) for a, b in zip(SIZES[:-1], SIZES[1:])]
    bs = [0.01 * rng.standard_normal(b) for b in SIZES[1:]]
    X = rng.standard_normal((BATCH, SIZES[0]))
    y = rng.integers(0, SIZES[-1], size=BATCH)
    return Ws, bs, X, y


def _products(Ws, X) -> Callable[[], None]:
    """The step's matrix products alone (the same shapes and transposes as manual/'s), on
    operands made beforehand: the rate the BLAS reaches on this step's shapes."""
    rng = np.random.default_rng(2)
    hidden = [rng.standard_normal((X.shape[0], W.shape[1])) for W in Ws]
    inputs = [X, *hidden[:-1]]

    def run():
        for a, W, dz in zip(inputs, Ws, hidden):
            a @ W  # forward
            a.T @ dz  # dW
        for W, dz in zip(Ws[1:], hidden[1:]):
            dz @ W.T  # dH of every hidden layer

    return run


def _jax_step(Ws, bs, X, y) -> Callable[[], tuple]:
    """The jitted value_and_grad on device arrays, blocking until done: (loss, grads)."""
    from bpcheck.jaxsetup import jax

    jnp = jax.numpy

    def loss(params, X, y):
        a = X
        for index, (W, b) in enumerate(params):
            a = a @ W + b
            if index < len(params) - 1:
                a = jax.nn.relu(a)
        logp = jax.nn.log_softmax(a, axis=1)
        return -jnp.mean(logp[jnp.arange(X.shape[0]), y])

    step = jax.jit(jax.value_and_grad(loss))
    params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in zip(Ws, bs)]
    Xd, yd = jnp.asarray(X), jnp.asarray(y)

    def run():
        return jax.block_until_ready(step(params, Xd, yd))

    return run


def _gradient_gap(manual_result, jax_result) -> float:
    _, dWs, dbs = manual_result
    _, grads = jax_result
    gaps = []
    for (dW, db), (gW, gb) in zip(zip(dWs, dbs), grads):
        for ours, theirs in ((dW, np.asarray(gW)), (db, np.asarray(gb))):
            gaps.append(float(np.max(np.abs(ours - theirs)) / max(np.max(np.abs(theirs)), 1e-300)))
    return max(gaps)


def measure(repeats: int = 15) -> StepTiming:
    from manual.mlp import mlp_loss_and_grads

    Ws, bs, X, y = _problem()
    activations = ("relu",) * (len(SIZES) - 2)

    def manual_step():
        return mlp_loss_and_grads(Ws, bs, X, y, activations, "softmax_loss")

    jax_step = _jax_step(Ws, bs, X, y)
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((MATMUL, MATMUL)), rng.standard_normal((MATMUL, MATMUL))

    def matmul():
        return A @ B

    products = _products(Ws, X)

    gap = _gradient_gap(manual_step(), jax_step())  # also the warm-up (JAX compiles here)
    timings: dict[str, list[float]] = {"manual": [], "jax": [], "products": [], "matmul": []}
    for _ in range(repeats):
        for name, function in (("manual", manual_step), ("jax", jax_step), ("products", products),
                               ("matmul", matmul)):
            started = time.perf_counter()
            function()
            timings[name].append(time.perf_counter() - started)
    best = {k: min(v) for k, v in timings.items()}
    median = {k: statistics.median(v) for k, v in timings.items()}
    return StepTiming(best["manual"], median["manual"], best["jax"], median["jax"],
                      best["matmul"], median["matmul"], best["products"], median["products"],
                      step_flops() / 1e9,
                      2.0 * MATMUL**3 / 1e9, gap)
