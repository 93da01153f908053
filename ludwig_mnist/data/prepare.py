"""The data stage's entry point: config + DataOptions → PreparedData (metadata, decoded splits, summary).

    table (table.py) or archive folders (folders.py) → rows checked, empty ones dropped (drop_row)
        → vocabulary (descending frequency) → splits (splits.py) → archive checked, read in place (members.py)
        → image size inferred from the training rows → decoded into memory, or into the on-disk cache
          (cache.py, preprocessing.in_memory: false) → one SplitData per non-empty split

PreparedData is a value: a pipeline that trains several models on the same rows (compare, k-fold)
prepares once.  Nothing under data/ imports TensorFlow or Keras (a test checks).
"""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .. import __version__
from ..config.schema import ExperimentConfig
from ..errors import DataError
from ..options import DataOptions
from ..results import SPLIT_NAMES, DatasetSummary
from ..runtime import granted_memory
from ..wording import MAX_LISTED, plural
from .archive import ArchiveLimits, ExtractedArchive
from .binary import BOOL_NAMES, binary_index, binary_vocabulary
from .cache import CACHE_NAME, decode_to_cache, is_streamed
from .folders import folder_table
from .images import DEFAULT_MAX_IMAGE_PIXELS, ImageSpec, decode_images, infer_image_spec
from .members import ArchiveMembers, open_archive
from .presplit import locate_rows, read_metadata_file, read_split_sets
from .splits import SPLIT_CODES, assign_splits
from .table import (
    fill_missing,
    LINE_COLUMN,
    build_vocabulary,
    drop_missing,
    read_table,
    require_column,
)

MEMORY_SHARE_FOR_PIXELS = 0.5  # of the job's memory grant, before in_memory: true streams instead
EXTRACTED_DIR = "raw_data"  # the archive is extracted to work_dir/EXTRACTED_DIR
POOLED_SPLIT = "training"  # prepare_data(pooled=True) puts every row here, for k-fold to deal into folds


@dataclass(frozen=True)
class Metadata:
    """What preprocessing learned from the training data; saved as training_set_metadata.json."""

    input_name: str
    input_column: str
    output_name: str
    output_column: str
    class_names: tuple[str, ...]  # idx2str
    class_frequencies: dict[str, int]
    image: ImageSpec
    resize_method: str
    # binary outputs (data/binary.py): Ludwig's str2bool of a string column, None for numeric/true-false ones
    output_type: str = "category"
    str2bool: dict[str, bool] | None = None
    fallback_true_label: str | None = None

    def _output_json(self) -> dict[str, Any]:
        if self.output_type == "binary":  # Ludwig's binary metadata: str2bool/bool2str only for string columns
            mapping = {} if self.str2bool is None else {
                "str2bool": dict(self.str2bool), "bool2str": list(self.class_names),
                "fallback_true_label": self.fallback_true_label}
            return {"column": self.output_column, **mapping}
        return {
            "column": self.output_column,
            "idx2str": list(self.class_names),
            "str2idx": {name: i for i, name in enumerate(self.class_names)},
            "str2freq": dict(self.class_frequencies),
            "vocab_size": len(self.class_names),
        }

    def to_json(self) -> dict[str, Any]:
        """Ludwig's training_set_metadata layout (one entry per feature)."""
        return {
            self.input_name: {
                "column": self.input_column,
                "preprocessing": {"height": self.image.height, "width": self.image.width,
                                  "num_channels": self.image.num_channels, "resize_method": self.resize_method},
                "reshape": [self.image.height, self.image.width, self.image.num_channels],
            },
            self.output_name: self._output_json(),
            "ludwig_mnist_version": __version__,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], input_name: str, output_name: str) -> "Metadata":
        image, label = data[input_name], data[output_name]
        pre = image["preprocessing"]
        binary = "idx2str" not in label  # a binary output: Ludwig writes no vocabulary for it
        return cls(input_name=input_name, input_column=image.get("column", input_name),
                   output_name=output_name, output_column=label.get("column", output_name),
                   class_names=tuple(label.get("bool2str", BOOL_NAMES) if binary else label["idx2str"]),
                   class_frequencies=dict(label.get("str2freq", {})),
                   image=ImageSpec(int(pre["height"]), int(pre["width"]), int(pre["num_channels"])),
                   resize_method=pre.get("resize_method", "interpolate"),
                   output_type="binary" if binary else "category", str2bool=label.get("str2bool"),
                   fallback_true_label=label.get("fallback_true_label"))


@dataclass(frozen=True)
class SplitData:
    name: str
    images: np.ndarray  # (N, H, W, C) uint8; a data.cache.DiskImages view of it when preprocessing.in_memory is false
    labels: np.ndarray  # (N,) int32 indices into Metadata.class_names
    sources: tuple[str, ...]  # image paths as written in the CSV


@dataclass(frozen=True)
class PreparedData:
    metadata: Metadata
    splits: dict[str, SplitData]  # only non-empty splits, in SPLIT_NAMES order
    summary: DatasetSummary
    timings: dict[str, float] = field(default_factory=dict)


def preparation_key(config: ExperimentConfig) -> tuple:
    """The parts of a config that decide what prepare_data returns: configs with equal keys share one
    PreparedData (compare's grid points that change only trainer or model keys)."""
    feature_in, feature_out = config.input_feature, config.output_feature
    return (feature_in.name, feature_in.column_name, feature_in.preprocessing, feature_out.name,
            feature_out.column_name, config.preprocessing)


# ---------------------------------------------------------------- shared with predict


def open_raw_data(archive_path: Path, work_dir: Path, limits: ArchiveLimits | None,
                  log: Callable[[str], None]) -> tuple[ArchiveMembers | ExtractedArchive, float]:
    """The archive's checked files, read in place (members.py; a large compressed tar is extracted to
    work_dir/EXTRACTED_DIR instead); returns them and the seconds the checks took.  Close it after decoding."""
    start = time.perf_counter()
    opened = open_archive(Path(archive_path), limits if limits is not None else ArchiveLimits(),
                          spill_dir=Path(work_dir) / EXTRACTED_DIR)
    seconds = time.perf_counter() - start
    how = "checked; images are read from it in place" if isinstance(opened, ArchiveMembers) else "extracted"
    log(f"archive: {opened.file_count} files ({opened.total_bytes / 1e6:.1f} MB) {how} in {seconds:.1f} s")
    return opened, seconds


def close_raw_data(opened: ArchiveMembers | ExtractedArchive | None) -> None:
    if isinstance(opened, ArchiveMembers):
        opened.close()


def discard_extracted(work_dir: Path) -> threading.Thread:
    """Delete the extracted image files (if a large compressed tar was extracted) in the background; the decoded
    pixels are all that is read again.

    Unlinking them (70k MNIST files: 4-80 s on a busy local disk, longer on network storage) overlaps
    training instead of ending the job.  Join the thread before the work directory is removed.
    """
    thread = threading.Thread(target=shutil.rmtree, args=(Path(work_dir) / EXTRACTED_DIR, True),
                              name="delete-extracted-images", daemon=True)
    thread.start()
    return thread


def decode(paths: Sequence[Path], spec: ImageSpec, *, in_memory: bool, resize_method: str, work_dir: Path,
           sources: Sequence[str], num_workers: int, max_image_pixels: int | None):
    """(N, H, W, C) uint8 pixels in ``paths`` order: an array, or (in_memory false) DiskImages of the on-disk
    cache in work_dir; plus the DecodeCounts.  The cache is decoded chunk by chunk, so memory stays bounded."""
    limit = max_image_pixels or DEFAULT_MAX_IMAGE_PIXELS
    needed = len(paths) * spec.height * spec.width * spec.num_channels
    granted = granted_memory()
    # Half the grant for the pixels: TensorFlow, the model and the batches it copies need the rest.
    too_big = in_memory and granted is not None and needed > granted[0] * MEMORY_SHARE_FOR_PIXELS
    if in_memory and not too_big:
        return decode_images(paths, spec, resize_method=resize_method, num_workers=num_workers, sources=sources,
                             max_image_pixels=limit)
    Path(work_dir).mkdir(parents=True, exist_ok=True)
    images, counts = decode_to_cache(paths, spec, Path(work_dir) / CACHE_NAME, resize_method=resize_method,
                                     num_workers=num_workers, sources=sources, max_image_pixels=limit)
    return images, (replace(counts, streamed_for_memory=(needed, *granted)) if too_big else counts)


# ---------------------------------------------------------------- the whole stage


def _binary_index(config: ExperimentConfig, labels, like: Metadata | None, dataset_name: str):
    """(class names [false, true], frequencies, (N,) int32 0/1, binary metadata fields) by Ludwig's rules."""
    feature = config.output_feature
    if like is not None:
        names, mapping, fallback = like.class_names, like.str2bool, like.fallback_true_label
    else:
        names, mapping, fallback = binary_vocabulary(labels, feature.preprocessing.fallback_true_label,
                                                     feature.column_name, dataset_name)
    index = binary_index(labels, mapping, feature.column_name, dataset_name)
    if like is None and len(np.unique(index)) < 2:
        raise DataError(f"dataset {dataset_name}: every '{feature.column_name}' value is {bool(index[0])}; a binary "
                        "classifier needs both true and false rows")
    frequencies = {name: int(np.sum(index == i)) for i, name in enumerate(names)}
    return names, frequencies, index, {"output_type": "binary", "str2bool": mapping, "fallback_true_label": fallback}


def _class_index(config: ExperimentConfig, labels, like: Metadata | None, dataset_name: str):
    """(class names, frequencies, (N,) int32 label index) following Ludwig's vocabulary, or a loaded model's."""
    label_column = config.output_feature.column_name
    class_names, frequencies = build_vocabulary(labels)
    if like is not None:
        unknown = sorted(set(class_names) - set(like.class_names))
        if unknown:
            raise DataError(f"dataset {dataset_name}: classes {', '.join(map(repr, unknown[:MAX_LISTED]))} are not "
                            f"among the {len(like.class_names)} classes of the loaded model (or training_set_metadata); "
                            "train a new model for new classes")
        class_names = like.class_names
        frequencies = {name: frequencies.get(name, 0) for name in class_names}
    if len(class_names) < 2:
        raise DataError(f"dataset {dataset_name}: column '{label_column}' has a single class "
                        f"({class_names[0]!r}); a classifier needs at least two")
    str2idx = {name: i for i, name in enumerate(class_names)}
    return class_names, frequencies, labels.map(str2idx).to_numpy().astype(np.int32)


def _locate_and_decode(config, options, table, codes, extracted, fixed, work_dir, num_workers, timings, notes, log):
    """(pixels in split order, ImageSpec, DecodeCounts, CSV image paths, the split order of the rows); ``fixed``: the
    ImageSpec a saved model or an encoder imposes, else None (inferred)."""
    feature_in = config.input_feature
    sources = tuple(table[feature_in.column_name].str.strip())
    paths = locate_rows(extracted, table, sources, options)  # without an archive: beside each row's table

    start = time.perf_counter()
    pre = feature_in.preprocessing
    pixel_limit = {} if options.max_image_pixels is None else {"max_image_pixels": options.max_image_pixels}
    # Ludwig samples the column's first rows (all splits), not the training rows.
    spec, spec_notes = infer_image_spec(
        paths, height=fixed.height if fixed else pre.height, width=fixed.width if fixed else pre.width,
        num_channels=fixed.num_channels if fixed else pre.num_channels, infer=pre.infer_image_dimensions,
        sample_size=pre.infer_image_sample_size, max_height=pre.infer_image_max_height,
        max_width=pre.infer_image_max_width, requires_equal_dimensions=pre.requires_equal_dimensions,
        sources=sources, **pixel_limit)
    notes += list(spec_notes)
    # Decode in split order so that each split is a contiguous slice (a view, no copy) of one array.
    order = np.argsort(codes, kind="stable")
    images, counts = decode([paths[i] for i in order], spec, in_memory=pre.in_memory,
                            resize_method=pre.resize_method, work_dir=work_dir,
                            sources=[sources[i] for i in order], num_workers=num_workers,
                            max_image_pixels=options.max_image_pixels)
    notes += list(counts.notes())
    timings["decode"] = time.perf_counter() - start
    log(f"decoded {len(paths)} images to {spec.height}x{spec.width}x{spec.num_channels} "
        f"{'into an on-disk cache ' if is_streamed(images) else ''}"
        f"in {timings['decode']:.1f} s ({len(paths) / max(timings['decode'], 1e-9):.0f} images/s)")

    return images, spec, counts, sources, order


def prepare_data(config: ExperimentConfig, options: DataOptions, work_dir: Path, *, seed: int,
                 num_workers: int = 1, like: Metadata | None = None, pooled: bool = False,
                 image_like: ImageSpec | None = None, log: Callable[[str], None] = print) -> PreparedData:
    """options.dataset None: a folder-format archive (train/<class>/…), see folders.py.

    like: a saved model's metadata (fine-tuning, resuming): its class order and image size are kept, so the
    loaded weights mean the same classes and see the same input shape.
    pooled: every usable row in one POOLED_SPLIT, whatever the config's split says (k-fold makes its own).
    image_like: a backbone's image size and channels (--encoder_from): the images are decoded to them, the
    classes come from this dataset.
    """
    feature_in, feature_out = config.input_feature, config.output_feature
    image_column, label_column = feature_in.column_name, feature_out.column_name
    dataset_name = options.dataset_name
    timings: dict[str, float] = {}
    notes = []
    extracted, folder_splits = None, False

    start = time.perf_counter()
    if options.training_set_metadata is not None and like is None:
        like = read_metadata_file(options.training_set_metadata, feature_in.name, feature_out.name)
        notes.append(f"training_set_metadata {Path(options.training_set_metadata).name}: its "
                     f"{plural(len(like.class_names), 'class', 'classes')} (in its vocabulary order) and image size "
                     f"{like.image.height}x{like.image.width}x{like.image.num_channels} are used, as Ludwig does")
    if options.split_sets is not None:
        table, sets_note = read_split_sets(options, image_column, label_column)
        notes.append(sets_note)
        folder_splits = True  # the split column holds each row's table: explicit splits, as folders' are
    elif options.dataset is None:
        if options.raw_data is None:
            raise DataError("no data: give a dataset table (or training_set), or an image archive in the folder "
                            "layout train/<class>/..., test/<class>/...")
        extracted, timings["archive"] = open_raw_data(options.raw_data, work_dir, options.limits, log)
        notes += list(extracted.notes)
        table, folder_splits, folder_notes = folder_table(extracted if isinstance(extracted, ArchiveMembers)
                                                          else extracted.root, image_column, label_column,
                                                          options.labels_from, dataset_name)
        notes += folder_notes
        start = time.perf_counter()
    else:
        table = read_table(options.dataset, options.data_format)
    if LINE_COLUMN not in table.columns:  # the split sets number each file's lines themselves
        table = table.assign(**{LINE_COLUMN: np.arange(len(table)) + 2})  # header is line 1
    require_column(table, image_column, "the image input feature", dataset_name)
    require_column(table, label_column, "the output feature", dataset_name)
    for column, pre in ((image_column, feature_in.preprocessing), (label_column, feature_out.preprocessing)):
        table, filled = fill_missing(table, column, pre.missing_value_strategy, getattr(pre, "fill_value", None))
        if filled:
            notes.append(f"filled {plural(filled, 'empty ' + column + ' value')} ({pre.missing_value_strategy})")
    table, dropped = drop_missing(table, [image_column, label_column])
    if dropped:
        notes.append(f"dropped {plural(dropped, 'row')} with an empty {label_column} "
                     f"or {image_column} value (Ludwig's drop_row)")
    if table.empty:
        raise DataError(f"dataset {dataset_name}: every row has an empty '{label_column}' or '{image_column}'")
    if config.preprocessing.sample_ratio < 1.0:
        table = table.sample(frac=config.preprocessing.sample_ratio, random_state=seed).reset_index(drop=True)
        notes.append(f"sample_ratio {config.preprocessing.sample_ratio}: using {len(table)} rows")
    binary_fields: dict[str, Any] = {}
    if feature_out.type == "binary":
        class_names, frequencies, label_index, binary_fields = _binary_index(
            config, table[label_column].str.strip(), like, dataset_name)
    else:
        class_names, frequencies, label_index = _class_index(config, table[label_column].str.strip(), like,
                                                             dataset_name)
    if pooled:
        codes = np.zeros(len(table), dtype=np.int64)
    else:
        codes, split_notes = assign_splits(config, table, label_index, seed, dataset_name, folder_splits)
        notes += split_notes
    timings["read_dataset"] = time.perf_counter() - start

    if extracted is None and options.raw_data is not None:
        extracted, timings["archive"] = open_raw_data(options.raw_data, work_dir, options.limits, log)
        notes += list(extracted.notes)
    try:
        fixed = like.image if like is not None else image_like
        images, spec, counts, sources, order = _locate_and_decode(config, options, table, codes, extracted, fixed,
                                                                  work_dir, num_workers, timings, notes, log)
    finally:
        close_raw_data(extracted)
    splits, offset = {}, 0
    for code, name in SPLIT_CODES.items():
        count = int((codes == code).sum())
        rows = order[offset: offset + count]
        if count:
            splits[name] = SplitData(name, images[offset: offset + count], label_index[rows],
                                     tuple(sources[i] for i in rows))
        offset += count
    metadata = Metadata(feature_in.name, image_column, feature_out.name, label_column,
                        class_names, frequencies, spec, feature_in.preprocessing.resize_method, **binary_fields)
    summary = DatasetSummary(
        split_counts={name: (len(splits[name].labels) if name in splits else 0) for name in SPLIT_NAMES},
        class_names=class_names, class_frequencies=frequencies, image_height=spec.height,
        image_width=spec.width, num_channels=spec.num_channels, dataset_name=dataset_name,
        archive_name=options.archive_name, dropped_rows=dropped, notes=tuple(notes))
    for note in notes:
        log(f"note: {note}")
    return PreparedData(metadata, splits, summary, timings)
