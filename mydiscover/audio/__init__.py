"""The audio stage: what each track sounds like (descriptors and a CNN embedding)."""
