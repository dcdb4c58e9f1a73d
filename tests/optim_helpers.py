"""What the optimizer and line-search tests share: a quadratic objective with a known minimiser."""


def quadratic(A):
    """f(w) = ½ wᵀAw (∇f = Aw): along −g the exact step is gᵀg / gᵀAg."""
    def f(w):
        return 0.5 * float(w @ A @ w)  # f(w) = ½ wᵀAw, ∇f = Aw
    return f
