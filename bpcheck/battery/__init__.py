"""The battery: one example's trial (reference values and planned calls), the checks over it, the
diagnosis of a mismatch, the runner that drives them with hypothesis, and the verdict per function.
"""
