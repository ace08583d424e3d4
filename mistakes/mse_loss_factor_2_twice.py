"""mean squared error with the factor 2 applied twice: dx = 4 (x - y) / N.

x, y: (N, D); loss = (1/N) sum ||x_i - y_i||^2; dx: (N, D), twice the right value (also at
N = 1, where it must not be mistaken for a factor N).
"""

LAYER = "mse_loss"
BROKEN = ("mse_loss",)
CATCHES = ("vjp", "finite_differences")
DIAGNOSIS = "2 times too large"


def mse_loss(x, y):
    n = x.shape[0]
    diff = x - y
    grad = 2.0 * diff
    return (diff * diff).sum() / n, 2.0 * grad / n  # mistake: grad / n
