"""mean squared error: the derivative of the square loses its factor 2, dx = (x - y) / N.

x, y: (N, D); loss = (1/N) sum ||x_i - y_i||^2; dx: (N, D), half the right value.
"""

LAYER = "mse_loss"
BROKEN = ("mse_loss",)
CATCHES = ("vjp", "finite_differences")
DIAGNOSIS = "missing factor 2"


def mse_loss(x, y):
    n = x.shape[0]
    diff = x - y
    return (diff * diff).sum() / n, diff / n  # mistake: 2 * diff / n
