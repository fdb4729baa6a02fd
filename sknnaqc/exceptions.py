"""Exceptions raised by sknnaqc."""

__all__ = ["NonFiniteLossError"]


class NonFiniteLossError(FloatingPointError):
    """Raised when the training loss becomes NaN or infinite.

    Training stops at the first such batch instead of silently producing a
    model full of NaNs. Lowering ``lr`` or checking the input scale usually
    helps.
    """
