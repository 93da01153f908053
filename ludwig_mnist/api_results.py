"""The values the API returns, shaped like Ludwig 0.10's (ludwig/api.py): unpackable as tuples, indexable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrainingStats:
    """Ludwig's TrainingStats: {split: {feature or 'combined': {metric: [one value per epoch]}}}."""

    training: dict[str, Any]
    validation: dict[str, Any]
    test: dict[str, Any]
    evaluation_frequency: dict[str, Any] = field(default_factory=lambda: {"frequency": 1, "period": "epoch"})

    def __iter__(self):  # Ludwig's (odd but documented) unpacking order
        return iter((self.training, self.test, self.validation))

    def __contains__(self, key):
        return bool({"training": self.training, "validation": self.validation, "test": self.test}.get(key))

    def __getitem__(self, key):
        return {"training": self.training, "validation": self.validation, "test": self.test}[key]


@dataclass
class PreprocessedDataset:
    """Ludwig's PreprocessedDataset.  The decoded images are not kept after a run, so the three sets are None;
    training_set_metadata is the model's training_set_metadata.json."""

    training_set: None
    validation_set: None
    test_set: None
    training_set_metadata: dict[str, Any]

    def __iter__(self):
        return iter((self.training_set, self.validation_set, self.test_set, self.training_set_metadata))

    def __getitem__(self, index):
        return tuple(self)[index]


@dataclass
class TrainingResults:
    train_stats: TrainingStats
    preprocessed_data: PreprocessedDataset
    output_directory: str

    def __iter__(self):
        return iter((self.train_stats, self.preprocessed_data, self.output_directory))

    def __getitem__(self, index):
        return tuple(self)[index]
