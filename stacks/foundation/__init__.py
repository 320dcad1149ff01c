"""The `foundation` workspace: shared primitives that change rarely."""

from stacks.foundation.stack import FoundationOutputs, FoundationStack

__all__ = ["FoundationOutputs", "FoundationStack"]
