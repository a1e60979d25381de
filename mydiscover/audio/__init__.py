"""The audio stage: what each track sounds like (descriptors and a CNN embedding)."""

from __future__ import annotations

from types import ModuleType


def essentia_standard() -> ModuleType:
    """``essentia.standard``, imported without Essentia's start-up chatter on stderr."""
    import essentia

    essentia.log.infoActive = False  # "MusicExtractorSVM: no classifier models ..."
    import essentia.standard

    return essentia.standard
