"""The matching engine: a pure library (numpy, scipy, scikit-learn), never Flask or SQLAlchemy.

Frozen dataclasses or arrays in, ranked and explained results out. The web application feeds it
through ``marketplace/matches/adapters.py``.
"""

__all__: list[str] = []
