"""The embedder interface the indexes rely on, as a structural type: any object with a ``name``,
a ``dim`` and an ``encode`` that returns L2-normalised rows qualifies (:class:`~ponder.retrieval.
embedder.Embedder`, :class:`~ponder.retrieval.embedder.HashingEmbedder`, or a user's own)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np


@runtime_checkable
class TextEmbedder(Protocol):
    """Turns texts into vectors for dense retrieval.

    Attributes:
        name: recorded in an index's manifest; an index loads only with an embedder of the same
            name and dimension.
        dim: the vector size.
    """

    name: str
    dim: int

    def encode(self, texts: list[str] | str, batch_size: int = 32) -> np.ndarray:
        """float32 vectors, one L2-normalised row per text (a single string gives one row)."""
        ...
