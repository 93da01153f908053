"""Weights installed by the Galaxy data manager: one folder per entry of the ``ludwig_mnist_weights`` table.

    DIR/ludwig_mnist_weights.json   {"value", "name", "family", "variant", "sha256", "file", "origin"}
    DIR/<file>                      the backbone's weights without its top, as fetched (e.g. a Keras .h5)

The data manager (ludwig_mnist/weights_install.py, ``ludwig-mnist install-weights``) writes the folder and the
table row whose ``path`` column is DIR; the experiment tool's select passes that path as ``--installed_weights``.
A run re-checks the file's sha256 against the entry and that the config's encoder is the entry's family and
variant, then names the file as the encoder's ``pretrained_weights`` (so the builder feeds the backbone the
inputs its weights expect) and artifacts/weights.py reports the source as installed.  Keras-free.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path

from ..config.schema import ExperimentConfig
from ..errors import ConfigError, UserInputError

ENTRY_FILE = "ludwig_mnist_weights.json"
TABLE = "ludwig_mnist_weights"  # the Galaxy tool data table
COLUMNS = ("value", "name", "family", "variant", "sha256", "path")  # its columns, in .loc order
KEY = "input_features.0.encoder"


@dataclass(frozen=True)
class InstalledWeights:
    """One installed entry; ``directory`` is where it lies (the table's path column)."""

    value: str  # the table's unique id, e.g. mobilenetv3_small_imagenet
    name: str  # what the Galaxy select shows
    family: str  # a Ludwig encoder family, e.g. mobilenetv3
    variant: str  # its model_variant as text, e.g. small, 50
    sha256: str
    file: str  # the weights file's name inside directory
    origin: str  # the URL or file it was fetched from
    directory: Path = Path(".")

    @property
    def path(self) -> Path:
        return self.directory / self.file

    def entry(self) -> dict:
        """The folder's ludwig_mnist_weights.json."""
        return {"value": self.value, "name": self.name, "family": self.family, "variant": self.variant,
                "sha256": self.sha256, "file": self.file, "origin": self.origin}

    def table_row(self, path: str) -> dict:
        """The data table row (Galaxy's data manager JSON), with ``path`` as the data manager's output names it."""
        return {"value": self.value, "name": self.name, "family": self.family, "variant": self.variant,
                "sha256": self.sha256, "path": path}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_installed(directory: Path) -> InstalledWeights:
    """The entry in ``directory``, its file's sha256 checked; one line naming the folder when it does not hold."""
    directory = Path(directory)
    where = f"--installed_weights {directory}"
    entry_file = directory / ENTRY_FILE
    if not entry_file.is_file():
        raise UserInputError(f"{where}: no {ENTRY_FILE} there; installed weights are folders that the data "
                             "manager (ludwig-mnist install-weights) writes: install them with it")
    try:
        entry = json.loads(entry_file.read_text(encoding="utf-8"))
        weights = InstalledWeights(**{k: str(entry[k]) for k in
                                      ("value", "name", "family", "variant", "sha256", "file", "origin")},
                                   directory=directory)
    except (ValueError, KeyError, TypeError) as err:
        raise UserInputError(f"{where}: {ENTRY_FILE} is not an entry of the data manager ({err!r}); "
                             "reinstall the weights with ludwig-mnist install-weights") from None
    if not weights.path.is_file():
        raise UserInputError(f"{where}: the weights file {weights.file} is missing; reinstall the weights "
                             "with the data manager")
    actual = file_sha256(weights.path)
    if actual != weights.sha256:
        raise UserInputError(f"{where}: {weights.file} has sha256 {actual}, not the {weights.sha256} it was "
                             "installed with (the file changed); reinstall the weights with the data manager")
    return weights


def apply_installed(config: ExperimentConfig, weights: InstalledWeights) -> ExperimentConfig:
    """The config with the installed file as its encoder's pretrained_weights (and a note saying so)."""
    feature = config.input_feature
    encoder = feature.encoder
    variant = getattr(encoder, "variant", None)
    if encoder.type != weights.family or str(variant) != weights.variant:
        have = encoder.type if variant is None else f"{encoder.type} {variant}"
        raise ConfigError(f"config key '{KEY}': the installed weights {weights.name!r} are for {weights.family} "
                          f"{weights.variant}, the config's encoder is {have}; set type: {weights.family} and "
                          f"model_variant: {weights.variant}, or choose other installed weights")
    if encoder.pretrained_weights:
        raise ConfigError(f"config key '{KEY}.pretrained_weights': the config names a weights file and installed "
                          f"weights ({weights.name!r}) were chosen; keep one of them")
    notes = config.notes
    if not encoder.use_pretrained:
        notes += (f"'{KEY}.use_pretrained: false' concerns Keras's download only: the installed weights "
                  f"{weights.name!r} that were chosen are loaded",)
    feature = replace(feature, encoder=replace(encoder, pretrained_weights=str(weights.path)))
    return replace(config, input_features=(feature, *config.input_features[1:]), notes=notes)
