"""Parameters packed in one flat vector θ, and back (NumPy only)."""

import numpy as np


def unpack(theta, shapes):
    """Views of θ: (P,) as consecutive row-major arrays of the given shapes (which must fill it)."""
    arrays, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        arrays.append(theta[start:start + size].reshape(shape))
        start += size
    if start != theta.size:
        raise ValueError(f"theta has {theta.size} entries; the shapes {shapes} need {start}")
    return arrays


def pack(arrays):
    """One new flat vector of the arrays, row-major, in order."""
    return np.concatenate([np.ravel(a) for a in arrays])
