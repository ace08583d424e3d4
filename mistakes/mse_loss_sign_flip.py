"""mean squared error with the residual taken the other way round in the gradient:
dx = 2 (y - x) / N, the exact negative (the loss itself does not care about the order).

x, y: (N, D); dx: (N, D).
"""

LAYER = "mse_loss"
BROKEN = ("mse_loss",)
CATCHES = ("vjp", "finite_differences")
DIAGNOSIS = "wrong sign"


def mse_loss(x, y):
    n = x.shape[0]
    diff = x - y
    return (diff * diff).sum() / n, 2.0 * (y - x) / n  # mistake: 2 * (x - y) / n
