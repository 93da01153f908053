"""The run options every pipeline takes beside its parsed config: frozen values, built once by the CLI.

    DataOptions  where the data is and how to read it safely (the data stage's only input besides the config)
    RunOptions   one experiment run: data, output directory, seed, evaluated split, start model, extras

A pipeline never receives paths plus a dozen keyword arguments: ``run_experiment(config, options)``,
``run_kfold(config, options, k)``, ``run_compare(search, options)``, ``run_predict(options)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from .data.archive import ArchiveLimits

SPLIT_CHOICES = ("training", "validation", "test")
# Ludwig 0.10's --eval_split also offers "full", which LudwigModel.experiment does not handle: it logs "Eval
# split full not supported. Using validation set instead" and evaluates the validation split; so does this tool.
EVAL_SPLIT_CHOICES = SPLIT_CHOICES + ("full",)
SET_NAMES = ("training_set", "validation_set", "test_set")  # Ludwig's pre-split tables, split codes 0, 1, 2


@dataclass(frozen=True)
class DataOptions:
    """The dataset table and the images; ``dataset`` None reads a folder-format archive (train/<class>/…)."""

    raw_data: Path | None
    dataset: Path | None = None
    data_format: str = "auto"  # auto | csv | tsv | tabular
    labels_from: str = "folder"  # folder-format archives: the class is the folder name or the file-name prefix
    limits: ArchiveLimits = field(default_factory=ArchiveLimits)
    max_image_pixels: int | None = None  # None: Pillow's own decompression-bomb limit
    # How reports name the inputs (Galaxy passes the history's dataset names; the staged files are dataset_N.dat)
    dataset_label: str | None = None
    raw_data_label: str | None = None
    # Ludwig's pre-split tables instead of `dataset` (training, validation, test; None where not given) and a
    # training_set_metadata.json whose vocabulary and image size are used (data/presplit.py)
    split_sets: tuple[Path | None, Path | None, Path | None] | None = None
    training_set_metadata: Path | None = None

    def shown_names(self, dataset_name: str, archive_name: str) -> tuple[str, str]:
        """(dataset, archive) as the report's header shows them: the labels when given, else the file names."""
        return self.dataset_label or dataset_name, self.raw_data_label or archive_name

    def labelled(self, summary):
        """A DatasetSummary with the shown names in place of the file names (every pipeline's report header)."""
        dataset_name, archive_name = self.shown_names(summary.dataset_name, summary.archive_name)
        return replace(summary, dataset_name=dataset_name, archive_name=archive_name)

    @property
    def dataset_name(self) -> str:
        """How messages and the report name the table: the CSV's file name (the sets' names joined by '+'), or
        the archive's for folders."""
        if self.split_sets is not None:
            return " + ".join(Path(path).name for path in self.split_sets if path is not None)
        if self.dataset is None and self.raw_data is None:
            return "(no data)"
        return Path(self.dataset).name if self.dataset is not None else Path(self.raw_data).name

    @property
    def archive_name(self) -> str:
        """How the report names the images: the archive's file name, or where the paths lead without one."""
        return Path(self.raw_data).name if self.raw_data is not None else "(no archive: paths from the table's folder)"


@dataclass(frozen=True)
class ExplainOptions:
    """``--explain``: which attribution method, on how many sampled rows or on the rows of these image paths."""

    method: str = "gradcam"  # a key of explain/methods.METHODS: gradcam | integrated_gradients
    num_images: int = 20  # sampled per class round-robin, correct and misclassified alternating
    image_paths: tuple[str, ...] = ()  # explain exactly these rows instead (paths as in the table)


@dataclass(frozen=True)
class RunOptions:
    """One run of a pipeline.  ``command`` is recorded in description.json (the CLI passes sys.argv)."""

    data: DataOptions
    output_directory: Path = Path("results")
    random_seed: int = 42
    eval_split: str = "test"  # the split written to test_statistics.json and predictions.csv
    model_load_path: Path | None = None  # fine-tune from this saved model's weights
    model_resume_path: Path | None = None  # or continue its training up to trainer.epochs
    encoder_from: Path | None = None  # or reuse only this saved model's encoder (transfer; artifacts/backbone.py)
    installed_weights: Path | None = None  # an entry folder of the data manager (artifacts/installed.py)
    tensorboard: bool = False
    command: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # what the CLI decided about the options, shown in the log and the report
    explain: ExplainOptions | None = None  # also explain the shown split's predictions

    def __post_init__(self):
        if self.eval_split not in EVAL_SPLIT_CHOICES:
            raise ValueError(f"eval_split must be one of {EVAL_SPLIT_CHOICES}, not {self.eval_split!r}")
        if self.model_load_path is not None and self.model_resume_path is not None:
            raise ValueError("model_load_path and model_resume_path exclude each other")
        if self.encoder_from is not None and self.start_model is not None:
            raise ValueError("encoder_from excludes model_load_path and model_resume_path")

    @property
    def evaluated_split(self) -> str:
        """The split evaluated into test_statistics.json: eval_split, with Ludwig 0.10's "full" → validation."""
        return "validation" if self.eval_split == "full" else self.eval_split

    @property
    def start_model(self) -> Path | None:
        return self.model_resume_path or self.model_load_path

    def with_output(self, output_directory: Path) -> "RunOptions":
        return replace(self, output_directory=Path(output_directory))


@dataclass(frozen=True)
class PredictOptions:
    """``predict``: a saved model applied to a table of images."""

    model_path: Path
    data: DataOptions
    output_directory: Path
    batch_size: int | None = None  # None: the model's trainer.eval_batch_size (1024 when auto)
    split: str = "full"  # Ludwig's predict --split: full, or the rows of one split by the model's own split
    explain: ExplainOptions | None = None  # also explain some predictions (the `explain` command sets it)
