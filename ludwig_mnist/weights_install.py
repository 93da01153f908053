"""`ludwig-mnist install-weights`: the Galaxy data manager's logic (data_managers/data_manager_ludwig_mnist_weights).

An admin runs it once per backbone: it fetches the weights of a family and variant without their top from
Keras's URL (the default), any URL (``file://`` included) or a local file, checks the hash (``--sha256``, else
Keras's own hash of its file), checks that the file loads into that backbone, and writes an entry folder

    OUTPUT_DIRECTORY/VALUE/<file>  +  OUTPUT_DIRECTORY/VALUE/ludwig_mnist_weights.json   (artifacts/installed.py)

plus, for Galaxy, the data manager JSON that adds the row (value, name, family, variant, sha256, path) to the
``ludwig_mnist_weights`` tool data table.  Nothing is left in OUTPUT_DIRECTORY when a check fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .artifacts.installed import ENTRY_FILE, TABLE, InstalledWeights
from .errors import UserInputError
from .model.families import FAMILIES, variant_message

WEIGHT_SUFFIXES = (".weights.h5", ".h5", ".hdf5")  # what keras.Model.load_weights reads
SAFE_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
HEX = re.compile(r"^[0-9a-f]+$")


@dataclass(frozen=True)
class InstallRequest:
    """What the admin asked for; url and file exclude each other, neither means Keras's URL."""

    family: str
    variant: str
    output_directory: Path
    url: str | None = None
    file: Path | None = None
    file_name: str | None = None  # the file's name when ``file`` has another (a Galaxy dataset_N.dat)
    sha256: str | None = None
    name: str | None = None
    value: str | None = None


def resolve_variant(family: str, variant: str):
    """The family's variant whose text is ``variant`` (50 for "50"); one line naming the choices otherwise."""
    if family not in FAMILIES:
        raise UserInputError(f"--family: {family!r} is not an encoder family with pretrained weights here; "
                             f"choose one of {', '.join(FAMILIES)}")
    for known in FAMILIES[family].built:
        if str(known) == str(variant):
            return known
    message = variant_message(family, variant, "--variant")
    raise UserInputError(message.replace("config key '--variant.model_variant'", "--variant"))


def _expected_hash(request: InstallRequest, keras_weights) -> tuple[str | None, str]:
    """(expected hex digest or None, what it is) for the file about to be fetched."""
    if request.sha256:
        digest = request.sha256.strip().lower()
        if len(digest) != 64 or not HEX.match(digest):
            raise UserInputError(f"--sha256: {request.sha256!r} is not a sha256 (64 hexadecimal digits)")
        return digest, "the sha256 given"
    if keras_weights is not None and keras_weights.md5:
        return keras_weights.md5, "Keras's own hash of its file"
    return None, ""


def _fetch(source: str, destination: Path) -> dict[str, str]:
    """Copy a URL or a local path to destination; its sha256 and md5."""
    digests = {"sha256": hashlib.sha256(), "md5": hashlib.md5()}  # noqa: S324 - Keras's md5, not security
    try:
        if "://" in source:
            handle = urllib.request.urlopen(source, timeout=120)  # noqa: S310 - the admin's URL, file:// included
        else:
            handle = open(source, "rb")
        with handle, open(destination, "wb") as out:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                out.write(chunk)
                for digest in digests.values():
                    digest.update(chunk)
    except (urllib.error.URLError, ValueError, OSError) as err:
        reason = getattr(err, "reason", None) or getattr(err, "strerror", None) or err
        raise UserInputError(f"cannot fetch {source}: {str(reason).splitlines()[0][:160]}") from None
    return {name: digest.hexdigest() for name, digest in digests.items()}


def _check_fits(path: Path, family: str, variant) -> None:
    """The file loads into the family's backbone without top (one line when it does not)."""
    from . import runtime
    from .artifacts.weights import load_pretrained_weights
    from .config.load import parse_config
    from .errors import ConfigError
    from .model.build import build_model

    runtime.quiet_tensorflow()
    size = max(32, FAMILIES[family].min_input_size)
    config = parse_config({"input_features": [{"name": "image_path", "type": "image", "encoder": {
        "type": family, "model_variant": variant, "pretrained_weights": str(path)}}],
        "output_features": [{"name": "label", "type": "category"}]})
    try:
        load_pretrained_weights(build_model(config, (size, size, 3), 2), config)
    except ConfigError as err:
        reason = str(err).split(" without top: ", 1)[-1]
        raise UserInputError(f"{path.name} is not the weights of {family} {variant} without its top: "
                             f"{reason}") from None


def install_weights(request: InstallRequest, log: Callable[[str], None] = print,
                    check_fits: Callable[[Path, str, object], None] = _check_fits) -> InstalledWeights:
    """Fetch, check and write one entry folder; the InstalledWeights it holds."""
    family = request.family
    variant = resolve_variant(family, request.variant)
    keras_weights = FAMILIES[family].weights.get(variant)
    if request.url and request.file:
        raise UserInputError("--url and --file: give one source of the weights (or neither, for Keras's URL)")
    if request.file:
        source, file_name = str(request.file), request.file_name or Path(request.file).name
    elif request.url:
        source = request.url
        file_name = request.file_name or Path(urllib.parse.urlparse(request.url).path).name
    elif keras_weights is None:
        raise UserInputError(f"Keras has no ImageNet weights for {family} {variant} (this tool writes that "
                             "network itself); give the weights without top with --url or --file")
    else:
        source, file_name = keras_weights.origin, keras_weights.file_name
    if not file_name.lower().endswith(WEIGHT_SUFFIXES):
        raise UserInputError(f"the weights file {file_name!r} needs one of the names Keras loads weights from "
                             f"(ending {', '.join(WEIGHT_SUFFIXES)}); rename it (or give --file_name)")
    from_keras = source == getattr(keras_weights, "origin", None)
    expected, what = _expected_hash(request, keras_weights if from_keras else None)
    if expected is None and request.url and not from_keras:
        raise UserInputError(f"--sha256: a URL other than Keras's needs the file's sha256, to check what "
                             f"arrives from {request.url}")
    output = Path(request.output_directory)
    output.mkdir(parents=True, exist_ok=True)
    partial = output / f".{file_name}.partial"
    partial.mkdir(exist_ok=True)
    try:
        log(f"fetching {source}")
        digests = _fetch(source, partial / file_name)
        if expected is not None:
            actual = digests["sha256" if len(expected) == 64 else "md5"]
            if actual != expected:
                raise UserInputError(f"{source}: {'sha256' if len(expected) == 64 else 'md5'} {actual} is not "
                                     f"{expected} ({what}); the file is not the one expected: check the URL "
                                     "or the hash")
            log(f"checked: {'sha256' if len(expected) == 64 else 'md5'} matches {what}")
        else:
            log(f"not checked against a hash (none given for {source}); recorded sha256 {digests['sha256']}")
        check_fits(partial / file_name, family, variant)
        sha256 = digests["sha256"]
        value = request.value or (f"{family}_{variant}_imagenet" if from_keras else f"{family}_{variant}_{sha256[:12]}")
        if not SAFE_VALUE.match(value):
            raise UserInputError(f"--value: {value!r} must be letters, digits, '_', '.', '-' (it names a folder)")
        name = request.name or (f"{family} {variant}, ImageNet (Keras)" if from_keras
                                else f"{family} {variant}, {file_name} (sha256 {sha256[:12]})")
        target = output / value
        if target.exists():
            raise UserInputError(f"{target} exists already; choose another --value or remove that entry first")
        weights = InstalledWeights(value, name, family, str(variant), sha256, file_name, source, target)
        (partial / ENTRY_FILE).write_text(json.dumps(weights.entry(), indent=2) + "\n", encoding="utf-8")
        partial.replace(target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    log(f"installed {name!r} ({family} {variant}, sha256 {sha256}) in {target}")
    return weights


def galaxy_json(weights: InstalledWeights) -> dict:
    """The data manager's output: the row to add, ``path`` relative to the output's extra_files_path
    (data_manager_conf.xml moves that folder and turns it into an absolute path)."""
    return {"data_tables": {TABLE: [weights.table_row(weights.value)]}}


def add_parser(commands) -> None:
    parser = commands.add_parser("install-weights", aliases=["install_weights"],
                                 help="fetch, check and register pretrained backbone weights (the Galaxy data "
                                      "manager; admins run it once per backbone)")
    parser.add_argument("--family", required=True, help=f"encoder family: {', '.join(FAMILIES)}")
    parser.add_argument("--variant", required=True, help="its model_variant, e.g. 50, small, b0")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--url", help="fetch from this URL (https://, file://) instead of Keras's")
    source.add_argument("--file", type=Path, help="or copy this local file")
    parser.add_argument("--file_name", "--file-name", dest="file_name",
                        help="the file's name when the path has another (ends .h5 or .weights.h5)")
    parser.add_argument("--sha256", help="expected sha256 of the file (required for a URL other than Keras's; "
                                         "Keras's own hash is checked otherwise)")
    parser.add_argument("--name", help="the name the Galaxy select shows (default: family, variant, origin)")
    parser.add_argument("--value", help="the entry's id and folder name (default FAMILY_VARIANT_imagenet for "
                                        "Keras's weights, else FAMILY_VARIANT_<sha256 prefix>)")
    parser.add_argument("--output_directory", "--output-directory", dest="output_directory", type=Path,
                        required=True, help="the entry folder goes to OUTPUT_DIRECTORY/VALUE/")
    parser.add_argument("--galaxy_json", "--galaxy-json", dest="galaxy_json", type=Path,
                        help="write the Galaxy data manager JSON (the table row) to this file")


def run(args: argparse.Namespace, log: Callable[[str], None] = print) -> None:
    request = InstallRequest(args.family, args.variant, args.output_directory, args.url, args.file,
                             args.file_name, args.sha256, args.name, args.value)
    weights = install_weights(request, log)
    if args.galaxy_json:  # Galaxy moves the folder and writes the row itself (data_manager_conf.xml)
        args.galaxy_json.write_text(json.dumps(galaxy_json(weights)) + "\n", encoding="utf-8")
        return
    log("row of the ludwig_mnist_weights table (tool-data/ludwig_mnist_weights.loc, tab-separated): "
        + "\t".join(str(v) for v in weights.table_row(str(weights.directory.resolve())).values()))
