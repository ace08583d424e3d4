"""Which floating-point warnings of a user's function are reported as its errors.

Overflow, division by zero and invalid values in a user's formula are an unstable formula: they
are raised as errors of the function, with its line, the same under pytest (filterwarnings) and
the command line. Except where the warning is not the formula's: a matrix product's, which
OpenBLAS raises on correct, finite results when its kernels compute on padding lanes (numpy issues
13173 and 24067; seen here as "invalid value encountered in matmul" on a float32 product whose
inputs and result were finite, depending on what the process had run before). A product that
really overflows or goes invalid shows inf or NaN in its result, which the value checks judge
(naming "overflow or log(0)?").

Standard library only: the sandbox's child loads this file too (``sandbox/process.py``).
"""

import warnings

#: The warnings a matrix product raises (``@``, ``np.dot``, ``np.matmul`` and their vector forms).
MATRIX_PRODUCTS = r".* encountered in (matmul|dot|vecdot|matvec|vecmat)$"


def raise_floating_point_errors() -> None:
    """Inside ``warnings.catch_warnings()``: RuntimeWarnings raise, a matrix product's do not."""
    warnings.simplefilter("error", RuntimeWarning)
    warnings.filterwarnings("ignore", message=MATRIX_PRODUCTS, category=RuntimeWarning)
