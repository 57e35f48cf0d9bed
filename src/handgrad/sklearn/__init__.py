"""scikit-learn's ``MLPClassifier`` and ``MLPRegressor`` on handgrad's hand-written backward pass.

(docstring to be written)
"""

from .estimators import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
