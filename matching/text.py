"""Text similarity between need and resource descriptions.

Character uni- and bi-grams (Chinese needs no word segmentation for this), hashed so that the
encoder is stateless: a new need is encoded on its own, nothing is refitted. Rows are
L2-normalised, so a dot product is the cosine similarity.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

_VECTORIZER = HashingVectorizer(
    analyzer="char_wb",
    ngram_range=(1, 2),
    n_features=2**18,
    alternate_sign=False,
    norm="l2",
    dtype=np.float32,
)


def encode(texts: Sequence[str]) -> sp.csr_matrix:
    return _VECTORIZER.transform([t or "" for t in texts]).tocsr()


def similarities(query: sp.csr_matrix, rows: sp.csr_matrix) -> np.ndarray:
    """Cosine similarity of one encoded text against many, as a 1-D array in [0, 1]."""
    if rows.shape[0] == 0:
        return np.zeros(0, dtype=np.float32)
    values: np.ndarray = np.asarray((rows @ query.T).toarray()).ravel()
    clipped: np.ndarray = np.clip(values, 0.0, 1.0)
    return clipped
