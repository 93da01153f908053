"""Batches for Keras from the prepared images: an in-memory array or the on-disk cache's DiskImages views.

Used for streamed data (``preprocessing.in_memory: false``), where Keras cannot slice the images itself.
"""

from __future__ import annotations

import math

import keras
import numpy as np


class ImageBatches(keras.utils.PyDataset):
    """Batches of (x (B, H, W, C) uint8, y (B,)) from DiskImages or an array, for ``fit``; only x when labels
    is None (``predict``).

    With shuffle, each epoch has its own permutation drawn from (seed, epoch): every row is seen once per
    epoch and a run is reproducible.  Pass ``shuffle=False`` to ``fit``: the order is decided here.
    """

    def __init__(self, images, labels: np.ndarray | None, batch_size: int, *, shuffle: bool = False,
                 seed: int = 0):
        super().__init__()  # one worker: a batch is ~100 preads, far cheaper than a training step
        self.images, self.labels, self.batch_size = images, labels, int(batch_size)
        self.shuffle, self.seed, self.epoch = shuffle, seed, 0
        self.order = self._permutation()

    def _permutation(self) -> np.ndarray:
        if not self.shuffle:
            return np.arange(len(self.images))
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.images))

    def __len__(self) -> int:
        return math.ceil(len(self.images) / self.batch_size)

    def __getitem__(self, index: int):
        rows = self.order[index * self.batch_size: (index + 1) * self.batch_size]
        if not self.shuffle:  # a contiguous slice: one read
            x = np.asarray(self.images[int(rows[0]): int(rows[-1]) + 1])
        else:
            x = self.images[rows]
        return x if self.labels is None else (x, self.labels[rows])

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._permutation()
