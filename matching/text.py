"""Text similarity between need and resource descriptions.

Character uni- and bi-grams (Chinese needs no word segmentation for this), hashed so that the
encoder is stateless: a new need is encoded on its own, nothing is refitted. Rows are
L2-normalised, so a dot product is the cosine similarity.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import numpy as np
import scipy.sparse as sp

N_FEATURES = 2**18


# scikit-learn takes over a second to import: it is imported where first used, so that
# starting the app (and every worker process) does not pay for it.
@cache
def _vectorizer() -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        analyzer="char_wb",
        ngram_range=(1, 2),
        n_features=N_FEATURES,
        alternate_sign=False,
        norm="l2",
        dtype=np.float32,
    )


@cache
def _analyzer_and_hash() -> tuple[Callable[[str], list[str]], Callable[..., int]]:
    from sklearn.utils import murmurhash3_32

    analyzer: Callable[[str], list[str]] = _vectorizer().build_analyzer()
    return analyzer, murmurhash3_32


def encode(texts: Sequence[str]) -> sp.csr_matrix:
    matrix: sp.csr_matrix = _vectorizer().transform([t or "" for t in texts]).tocsr()
    return matrix


def encode_one(text: str) -> sp.csr_matrix:
    """The same row as ``encode([text])``, without scikit-learn's per-call overhead (ten times
    faster for one short text, which is what a query is). The hashing and the normalisation
    follow HashingVectorizer's exactly; a test compares the two."""
    analyzer, murmurhash3_32 = _analyzer_and_hash()
    counts: dict[int, int] = {}
    for gram in analyzer(text or ""):
        column = abs(murmurhash3_32(gram, positive=False)) % N_FEATURES
        counts[column] = counts.get(column, 0) + 1
    columns = np.fromiter(sorted(counts), np.int32, len(counts))
    values = np.fromiter((counts[c] for c in columns.tolist()), np.float64, len(counts))
    if values.size:
        values /= np.sqrt(np.sum(values * values))
    return sp.csr_matrix(
        (values.astype(np.float32), columns, np.array([0, columns.size], dtype=np.int32)),
        shape=(1, N_FEATURES),
    )


def similarities(query: sp.csr_matrix, rows: sp.csr_matrix) -> np.ndarray:
    """Cosine similarity of one encoded text against many, as a 1-D array in [0, 1]."""
    if rows.shape[0] == 0:
        return np.zeros(0, dtype=np.float32)
    # A dense copy of the query makes this a plain sparse-matrix-vector product, with no
    # transposition or sparse result to build.
    dense = np.zeros(query.shape[1], dtype=np.float32)
    dense[query.indices] = query.data
    values: np.ndarray = np.asarray(rows @ dense).ravel()
    clipped: np.ndarray = np.clip(values, 0.0, 1.0)
    return clipped
