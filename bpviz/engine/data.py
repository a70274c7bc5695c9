"""The dataset container shared by the generators, the CSV loader and the trainer."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CLASSIFICATION = "classification"
REGRESSION = "regression"


@dataclass(frozen=True, eq=False)
class Dataset:
    """Training and test data.

    For classification ``y_train``/``y_test`` are integer class indices (N,) and ``class_names``
    names them; for regression they are float targets of shape (N, k).
    """

    name: str
    task: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...] = ()
    feature_names: tuple[str, ...] = ()
    target_names: tuple[str, ...] = ()
    source: str = ""            # file path for CSV data, "" for generated data
    params: dict = field(default_factory=dict)   # generator parameters (noise, seed, ...)

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def n_outputs(self) -> int:
        if self.task == CLASSIFICATION:
            return len(self.class_names)
        return self.y_train.shape[1]

    @property
    def is_classification(self) -> bool:
        return self.task == CLASSIFICATION

    def targets(self, y: np.ndarray) -> np.ndarray:
        """Network targets T for labels/targets y: one-hot rows for classification."""
        if self.task == CLASSIFICATION:
            T = np.zeros((len(y), len(self.class_names)))
            T[np.arange(len(y)), y] = 1.0
            return T
        y = np.asarray(y, dtype=float)
        return y.reshape(-1, 1) if y.ndim == 1 else y

    @property
    def T_train(self) -> np.ndarray:
        return self.targets(self.y_train)

    @property
    def T_test(self) -> np.ndarray:
        return self.targets(self.y_test)

    @property
    def X_all(self) -> np.ndarray:
        return np.vstack([self.X_train, self.X_test])
