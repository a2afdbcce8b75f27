"""Category suggestion from a need's words: a text classifier trained on verified needs, with
keyword rules when there are too few of them to learn from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any


@cache
def _vectorizer() -> Any:
    """Naive Bayes needs non-negative features: hashed character n-grams without sign flips.
    (scikit-learn is imported where first used: it takes over a second to import.)"""
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        analyzer="char_wb", ngram_range=(1, 2), n_features=2**18, alternate_sign=False, norm=None
    )


class CategoryClassifier:
    def __init__(self, keywords: Mapping[str, Sequence[str]], min_examples: int = 30) -> None:
        self.keywords = {code: tuple(words) for code, words in keywords.items()}
        self.min_examples = min_examples
        self._model: Any = None  # a fitted ComplementNB, or None: keywords decide

    @property
    def learned(self) -> bool:
        return self._model is not None

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> CategoryClassifier:
        if len(texts) != len(labels):
            raise ValueError("texts and labels differ in length")
        if len(texts) >= self.min_examples and len(set(labels)) >= 2:
            from sklearn.naive_bayes import ComplementNB

            self._model = ComplementNB(alpha=0.3).fit(_vectorizer().transform(texts), labels)
        else:
            self._model = None
        return self

    def _by_keywords(self, text: str) -> list[tuple[str, float]]:
        hits = {
            code: sum(len(w) for w in words if w in text) for code, words in self.keywords.items()
        }
        total = sum(hits.values())
        ranked = sorted(((c, h / total) for c, h in hits.items() if h), key=lambda x: (-x[1], x[0]))
        return ranked if total else []

    def suggest(self, text: str, limit: int = 3) -> list[tuple[str, float]]:
        """Up to ``limit`` (category code, confidence) pairs, best first; [] if nothing fits."""
        text = (text or "").strip()[:2000]
        if not text:
            return []
        if self._model is None:
            return self._by_keywords(text)[:limit]
        import numpy as np  # with the model only: the app starts without NumPy

        proba = self._model.predict_proba(_vectorizer().transform([text]))[0]
        order = np.lexsort((np.arange(proba.size), -proba))[:limit]
        classes = self._model.classes_
        return [(str(classes[i]), round(float(proba[i]), 3)) for i in order]
