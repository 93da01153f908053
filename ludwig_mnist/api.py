"""A Python API shaped like Ludwig 0.10's ``ludwig.api.LudwigModel``, over this package's pipelines.

    model = LudwigModel(config)                        # a dict or a YAML path; parsed (and refused) at once
    test_stats, train_stats, _, out = model.experiment(dataset="data.csv")
    predictions, _ = model.predict(dataset=frame)      # a pandas DataFrame like Ludwig's
    model = LudwigModel.load(out + "/model")

The argument names, defaults and return values are Ludwig's where they apply.  Every call runs one of the
pipelines (``run_experiment``, ``run_predict``) with frozen options, in a scratch folder inside the output
directory, and reads its results back from the files the pipeline wrote; nothing here trains or evaluates.

Data: ``dataset`` is a CSV/TSV path, a pandas DataFrame or a dict of columns (api_data.py).  The pipelines
read images from an archive, so the API packs the referenced files into an uncompressed zip in the scratch
folder (a copy of the images, deleted when the call ends).

Arguments of Ludwig that make no sense here are refused with a UserInputError, or, where they cannot change
a result, accepted with no effect and logged (see NO_EFFECT).  Heavy imports (TensorFlow) happen inside calls.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .api_data import StagedData, as_frame
from .api_results import PreprocessedDataset, TrainingResults, TrainingStats
from .config.load import load_config, parse_config
from .errors import ConfigError, DataError, ModelError, UserInputError
from .options import PredictOptions, RunOptions

logger = logging.getLogger("ludwig_mnist")

RUN_DIR = "experiment_run"  # where run_experiment puts the run inside its output directory
MODEL_DIR = "model"
SPLIT_COLUMN = "split"
# The statistics Ludwig adds only with collect_overall_stats (ludwig/utils/metrics_utils calculate_overall_stats).
OVERALL_STATS_KEYS = ("confusion_matrix", "overall_stats", "per_class_stats", "roc_curve", "precision_recall_curve")
# Ludwig arguments accepted with no effect here, and why (logged when given a non-default value).
NO_EFFECT = {
    "skip_save_processed_input": "no processed-input cache (.hdf5) is written: images are decoded per run",
    "skip_save_progress": "no per-epoch checkpoints are written; model/training_progress.json is always written",
    "skip_save_log": "no TensorBoard log is written by the API",
    "skip_save_unprocessed_output": "no unprocessed (.npy) outputs are written",
    "skip_collect_predictions": "predictions of the eval split are always computed (predictions.csv)",
    "allow_parallel_threads": "TensorFlow runs deterministically with the granted CPU threads either way",
}


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _log_to_logger(message: str) -> None:
    """The pipelines' log lines: notes as warnings, progress as info (Ludwig's default level shows neither)."""
    if message.startswith("note: "):
        logger.warning(message[len("note: "):])
    else:
        logger.info(message)


def _refuse_extra(call: str, kwargs: dict[str, Any]) -> None:
    if kwargs:
        raise UserInputError(f"LudwigModel.{call}: unsupported argument(s) {', '.join(sorted(kwargs))}")


def _no_effect(call: str, name: str, value: Any, default: Any) -> None:
    if value != default:
        logger.warning(f"LudwigModel.{call}: {name}={value!r} has no effect here ({NO_EFFECT[name]})")


def _refuse_true(call: str, name: str, value: bool, why: str) -> None:
    if value:
        raise UserInputError(f"LudwigModel.{call}: {name}=True is not supported: {why}")


def _unique_directory(base: Path) -> Path:
    """Ludwig's find_non_existing_dir_by_adding_suffix: base, else base_0, base_1, ..."""
    candidate, suffix = base, 0
    while candidate.exists():
        candidate, suffix = Path(f"{base}_{suffix}"), suffix + 1
    return candidate


# ---------------------------------------------------------------- the model


class LudwigModel:
    """Ludwig's LudwigModel for one image input and one category (or binary) output; see the module doc."""

    def __init__(self, config: str | os.PathLike | dict, logging_level: int = logging.ERROR, backend: Any = None,
                 gpus: Any = None, gpu_memory_limit: float | None = None, allow_parallel_threads: bool = True,
                 callbacks: list | None = None) -> None:
        self.set_logging_level(logging_level)
        if isinstance(config, (str, os.PathLike)):
            self.config_fp = str(config)
            self._config = load_config(Path(config))
            self._user_config = yaml.safe_load(Path(config).read_text(encoding="utf-8"))
        elif isinstance(config, dict):
            self.config_fp = None
            self._user_config = copy.deepcopy(config)
            self._config = parse_config(copy.deepcopy(config))
        else:
            raise ConfigError(f"config must be a dict or a YAML path, not {type(config).__name__}")
        backend_type = backend.get("type") if isinstance(backend, dict) else backend
        if backend_type not in (None, "local"):
            raise UserInputError(f"backend {backend_type!r} is not supported: training runs in this process "
                                 "(backend 'local')")
        if gpus is not None or gpu_memory_limit is not None:
            raise UserInputError("gpus and gpu_memory_limit are not supported: set CUDA_VISIBLE_DEVICES before "
                                 "starting Python; GPU memory grows as needed")
        if callbacks:
            raise UserInputError("callbacks are not supported: Ludwig's Callback hooks have no equivalent here")
        _no_effect("__init__", "allow_parallel_threads", allow_parallel_threads, True)
        self.model_dir: Path | None = None  # the saved model that predict and evaluate use
        self.training_set_metadata: dict[str, Any] | None = None

    @staticmethod
    def set_logging_level(logging_level: int) -> None:
        logger.setLevel(logging_level)
        if not logger.handlers:
            logger.addHandler(logging.StreamHandler())

    @property
    def config(self) -> dict[str, Any]:
        """The fully resolved config, every default explicit (the model's model_hyperparameters.json)."""
        return self._config.to_dict()

    # ------------------------------------------------------------ training

    def experiment(self, dataset=None, training_set=None, validation_set=None, test_set=None,
                   training_set_metadata=None, data_format=None, experiment_name: str = "experiment",
                   model_name: str = "run", model_resume_path=None, eval_split: str = "test",
                   skip_save_training_description: bool = False, skip_save_training_statistics: bool = False,
                   skip_save_model: bool = False, skip_save_progress: bool = False, skip_save_log: bool = False,
                   skip_save_processed_input: bool = False, skip_save_unprocessed_output: bool = False,
                   skip_save_predictions: bool = False, skip_save_eval_stats: bool = False,
                   skip_collect_predictions: bool = False, skip_collect_overall_stats: bool = False,
                   output_directory: str = "results", random_seed: int = 42, encoder_from=None, **kwargs):
        """Train, then evaluate eval_split; returns (test_stats, train_stats, preprocessed_data, output_directory).

        encoder_from (this tool's argument, not Ludwig's): a model directory whose encoder's weights start the
        network, with a new head for this data's classes (the CLI's --encoder_from)."""
        _refuse_extra("experiment", kwargs)
        for name, value in (("skip_save_unprocessed_output", skip_save_unprocessed_output),
                            ("skip_collect_predictions", skip_collect_predictions)):
            _no_effect("experiment", name, value, False)
        run_dir = self._train("experiment", dataset, training_set, validation_set, test_set, training_set_metadata,
                              data_format, experiment_name, model_name, model_resume_path, eval_split,
                              skip_save_training_description, skip_save_training_statistics, skip_save_model,
                              skip_save_progress, skip_save_log, skip_save_processed_input, output_directory,
                              random_seed, drop=[name for name, skip in (("predictions.csv", skip_save_predictions),
                                                                          ("test_statistics.json", skip_save_eval_stats))
                                                 if skip], encoder_from=encoder_from)
        test_stats = self._test_stats(run_dir)
        if test_stats is not None and skip_collect_overall_stats:
            test_stats = _without_overall(test_stats)
        return (test_stats, *self._training_results(run_dir))

    def train(self, dataset=None, training_set=None, validation_set=None, test_set=None,
              training_set_metadata=None, data_format=None, experiment_name: str = "api_experiment",
              model_name: str = "run", model_resume_path=None, skip_save_training_description: bool = False,
              skip_save_training_statistics: bool = False, skip_save_model: bool = False,
              skip_save_progress: bool = False, skip_save_log: bool = False, skip_save_processed_input: bool = False,
              output_directory: str = "results", random_seed: int = 42, **kwargs) -> TrainingResults:
        """Train; returns (train_stats, preprocessed_data, output_directory) as Ludwig's TrainingResults.

        The run folder also holds the test split's statistics, predictions and the HTML report, as the
        experiment pipeline writes them."""
        _refuse_extra("train", kwargs)
        run_dir = self._train("train", dataset, training_set, validation_set, test_set, training_set_metadata,
                              data_format, experiment_name, model_name, model_resume_path, "test",
                              skip_save_training_description, skip_save_training_statistics, skip_save_model,
                              skip_save_progress, skip_save_log, skip_save_processed_input, output_directory,
                              random_seed, drop=[])
        return self._training_results(run_dir)

    def _train(self, call, dataset, training_set, validation_set, test_set, training_set_metadata, data_format,
               experiment_name, model_name, model_resume_path, eval_split, skip_description, skip_statistics,
               skip_model, skip_progress, skip_log, skip_processed, output_directory, random_seed, drop,
               encoder_from=None) -> Path:
        _refuse_true(call, "skip_save_model", skip_model, "predict and evaluate read the saved model; delete "
                     "its model/ folder afterwards if you do not want it")
        if training_set_metadata is not None and (self.model_dir is not None or model_resume_path):
            raise UserInputError(f"LudwigModel.{call}: training_set_metadata with a trained or resumed model: "
                                 "the model's own training_set_metadata.json is used")
        if eval_split not in ("training", "validation", "test", "full"):
            raise UserInputError(f"eval_split {eval_split!r}: choose training, validation, test or full")
        if eval_split == "full":  # Ludwig 0.10's experiment, word for word
            logger.warning("Eval split full not supported. Using validation set instead")
        for name, value in (("skip_save_progress", skip_progress), ("skip_save_log", skip_log),
                            ("skip_save_processed_input", skip_processed)):
            _no_effect(call, name, value, False)
        drop = drop + [name for name, skip in (("description.json", skip_description),
                                               ("training_statistics.json", skip_statistics)) if skip]
        sets = {0: training_set, 1: validation_set, 2: test_set}
        if dataset is not None and any(s is not None for s in sets.values()):
            raise UserInputError(f"LudwigModel.{call}: give either dataset or training_set/validation_set/test_set")
        if dataset is None and training_set is None:
            raise UserInputError(f"LudwigModel.{call}: no data; pass dataset= (or training_set=)")
        raw = copy.deepcopy(self._user_config)
        if dataset is None:  # Ludwig: given sets replace the config's split
            raw.setdefault("preprocessing", {})["split"] = {"type": "fixed", "column": SPLIT_COLUMN}
        config = parse_config(raw)
        output = Path(output_directory)
        name = experiment_name + ("_" if model_name else "") + (model_name or "")
        final = _unique_directory(output.absolute() / name)  # absolute, as Ludwig's get_output_directory
        output.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".api-", dir=output))
        try:
            staged = StagedData(scratch, config.input_feature.column_name)
            if dataset is not None:
                frame, base, name = as_frame(dataset, data_format, "dataset")
                table = staged.table(frame, base, name)
            else:
                parts = []
                for code, given in sets.items():
                    if given is not None:
                        what = ("training_set", "validation_set", "test_set")[code]
                        frame, base, name = as_frame(given, data_format, what)
                        parts.append(staged.table(frame, base, name).assign(**{SPLIT_COLUMN: str(code)}))
                table = pd.concat(parts, ignore_index=True)
                logger.warning("training_set/validation_set/test_set given: the config's preprocessing.split is "
                               "replaced by these sets (as Ludwig does)")
            start = {} if self.model_dir is None or model_resume_path else {"model_load_path": self.model_dir}
            if encoder_from is not None:
                if start or model_resume_path:
                    raise UserInputError(f"LudwigModel.{call}: encoder_from takes only another model's encoder; "
                                         "it cannot be combined with a loaded model or model_resume_path")
                start = {"encoder_from": Path(encoder_from)}
            data = staged.write(table)
            if training_set_metadata is not None:  # a dict or a path, as in Ludwig
                meta = scratch / "training_set_metadata.json"
                meta.write_text(json.dumps(training_set_metadata) if isinstance(training_set_metadata, dict)
                                else Path(training_set_metadata).read_text(encoding="utf-8"), encoding="utf-8")
                data = dataclasses.replace(data, training_set_metadata=meta)
            options = RunOptions(data=data, output_directory=scratch / "out",
                                 random_seed=random_seed, eval_split=eval_split,
                                 model_resume_path=_resume_model(model_resume_path),
                                 command=("LudwigModel." + call,), **start)
            from .pipelines.experiment import run_experiment

            run_experiment(config, options, log=_log_to_logger)
            run = scratch / "out" / RUN_DIR
            for entry in (scratch / "out").iterdir():  # the report and plots go into the run folder
                if entry.name != RUN_DIR:
                    os.replace(entry, run / entry.name)
            for name in drop:
                (run / name).unlink(missing_ok=True)
            os.replace(run, final)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        self._config, self.model_dir = config, final / MODEL_DIR
        self.training_set_metadata = _read_json(self.model_dir / "training_set_metadata.json")
        logger.info(f"results in {final}")
        return final

    def _training_results(self, run_dir: Path) -> TrainingResults:
        stats_file = run_dir / "training_statistics.json"
        stats = _read_json(stats_file) if stats_file.is_file() else {}
        train_stats = TrainingStats(stats.get("training", {}), stats.get("validation", {}), stats.get("test", {}),
                                    stats.get("evaluation_frequency", {"frequency": 1, "period": "epoch"}))
        preprocessed = PreprocessedDataset(None, None, None, dict(self.training_set_metadata))
        return TrainingResults(train_stats, preprocessed, str(run_dir))

    @staticmethod
    def _test_stats(run_dir: Path) -> dict[str, Any] | None:
        path = run_dir / "test_statistics.json"
        return _read_json(path) if path.is_file() else None

    # ------------------------------------------------------------ inference

    def _run_predict(self, call: str, dataset, data_format, split: str, batch_size, output_directory):
        """run_predict in a scratch folder; returns (scratch dir with its outputs, the dataset's row count)."""
        if self.model_dir is None:
            raise ModelError(f"LudwigModel.{call}: no trained model; call train/experiment or LudwigModel.load first")
        if split != "full":
            raise UserInputError(f"LudwigModel.{call}: split={split!r} is not supported; only split='full' "
                                 "(every row); select the rows of the DataFrame instead")
        if dataset is None:
            raise UserInputError(f"LudwigModel.{call}: no data; pass dataset=")
        output = Path(output_directory)
        output.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".api-", dir=output))
        try:
            staged = StagedData(scratch, self._config.input_feature.column_name)
            frame, base, name = as_frame(dataset, data_format, "dataset")
            data = staged.write(staged.table(frame, base, name))
            from .pipelines.predict import run_predict

            run_predict(PredictOptions(model_path=self.model_dir, data=data, output_directory=scratch / "out",
                                       batch_size=batch_size), log=_log_to_logger)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        return scratch

    def _predictions(self, out: Path) -> pd.DataFrame:
        """Ludwig's predictions frame: <out>_predictions, <out>_probabilities (arrays), <out>_probability and
        <out>_probabilities_<class>; no input columns (Ludwig returns outputs only)."""
        name = self._config.output_feature.name
        classes = self.training_set_metadata[name]["idx2str"]
        csv = pd.read_csv(out / "predictions.csv", dtype={f"{name}_predictions": str}, keep_default_na=False)
        per_class = [f"{name}_probabilities_{c}" for c in classes]
        frame = pd.DataFrame({f"{name}_predictions": csv[f"{name}_predictions"]})
        frame[f"{name}_probabilities"] = list(csv[per_class].to_numpy())
        frame[f"{name}_probability"] = csv[f"{name}_probability"]
        for column in per_class:
            frame[column] = csv[column]
        return frame

    @staticmethod
    def _publish(scratch: Path, output_directory: str, names: list[str]) -> None:
        for entry in (scratch / "out").iterdir():
            if entry.name in names:
                os.replace(entry, Path(output_directory) / entry.name)

    def predict(self, dataset=None, data_format=None, split: str = "full", batch_size: int = 128,
                skip_save_unprocessed_output: bool = True, skip_save_predictions: bool = True,
                output_directory: str = "results", return_type=pd.DataFrame, callbacks=None, **kwargs):
        """Predict every row; returns (predictions DataFrame, output_directory).  With skip_save_predictions
        False, predictions.csv (with the input columns) is written to output_directory."""
        _refuse_extra("predict", {k: v for k, v in kwargs.items() if k != "generation_config" or v is not None})
        if return_type not in (pd.DataFrame, "df"):
            raise UserInputError("LudwigModel.predict: only return_type=pandas.DataFrame is supported")
        if callbacks:
            raise UserInputError("LudwigModel.predict: callbacks are not supported")
        _no_effect("predict", "skip_save_unprocessed_output", skip_save_unprocessed_output, True)
        scratch = self._run_predict("predict", dataset, data_format, split, batch_size, output_directory)
        try:
            predictions = self._predictions(scratch / "out")
            if not skip_save_predictions:
                self._publish(scratch, output_directory, ["predictions.csv"])
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return predictions, str(output_directory)

    def evaluate(self, dataset=None, data_format=None, split: str = "full", batch_size: int | None = None,
                 skip_save_unprocessed_output: bool = True, skip_save_predictions: bool = True,
                 skip_save_eval_stats: bool = True, collect_predictions: bool = False,
                 collect_overall_stats: bool = False, output_directory: str = "results", return_type=pd.DataFrame,
                 **kwargs):
        """Evaluate labelled rows; returns (test_stats, predictions or {} unless collected, output_directory)."""
        _refuse_extra("evaluate", kwargs)
        if return_type not in (pd.DataFrame, "df"):
            raise UserInputError("LudwigModel.evaluate: only return_type=pandas.DataFrame is supported")
        _no_effect("evaluate", "skip_save_unprocessed_output", skip_save_unprocessed_output, True)
        scratch = self._run_predict("evaluate", dataset, data_format, split, batch_size, output_directory)
        try:
            stats_file = scratch / "out" / "test_statistics.json"
            if not stats_file.is_file():
                raise DataError(f"LudwigModel.evaluate: the dataset has no labels in column "
                                f"'{self._config.output_feature.column_name}'; use predict for unlabelled rows")
            stats = _read_json(stats_file)
            predictions = self._predictions(scratch / "out") if collect_predictions else {}
            publish = (["predictions.csv"] if collect_predictions and not skip_save_predictions else []) + \
                ([] if skip_save_eval_stats else ["test_statistics.json"])
            self._publish(scratch, output_directory, publish)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return (stats if collect_overall_stats else _without_overall(stats)), predictions, str(output_directory)

    # ------------------------------------------------------------ saved models

    @staticmethod
    def load(model_dir: str | os.PathLike, logging_level: int = logging.ERROR, backend: Any = None,
             gpus: Any = None, gpu_memory_limit: float | None = None, allow_parallel_threads: bool = True,
             callbacks: list | None = None, from_checkpoint: bool = False) -> LudwigModel:
        """A model written by experiment/train/save (or the CLI's experiment_run/model, a Galaxy ludwig_model)."""
        if from_checkpoint:
            raise UserInputError("LudwigModel.load: from_checkpoint=True is not supported: no checkpoints are "
                                 "written, only the final (best) model")
        from .artifacts.model_dir import load_model_dir

        saved = load_model_dir(Path(model_dir))  # checks every part and that the weights fit
        model = LudwigModel(saved.config.to_dict(), logging_level, backend, gpus, gpu_memory_limit,
                            allow_parallel_threads, callbacks)
        model.model_dir = Path(model_dir)
        model.training_set_metadata = _read_json(Path(model_dir) / "training_set_metadata.json")
        return model

    def save(self, save_path: str | os.PathLike) -> None:
        """Copy the model's files (model_hyperparameters.json, model_weights, ...) into save_path."""
        if self.model_dir is None:
            raise ModelError("LudwigModel.save: no trained model; call train/experiment or LudwigModel.load first")
        target = Path(save_path)
        if target.resolve() == self.model_dir.resolve():
            return
        target.mkdir(parents=True, exist_ok=True)
        for part in self.model_dir.iterdir():
            if part.is_file():
                shutil.copyfile(part, target / part.name)

    def save_config(self, save_path: str | os.PathLike) -> None:
        """The resolved config as model_hyperparameters.json in save_path, as Ludwig's save_config does."""
        target = Path(save_path)
        target.mkdir(parents=True, exist_ok=True)
        (target / "model_hyperparameters.json").write_text(json.dumps(self.config, indent=2) + "\n", encoding="utf-8")


def _resume_model(path) -> Path | None:
    """Ludwig's model_resume_path is a run folder (results/experiment_run); a model folder is taken as well."""
    if not path:
        return None
    return Path(path) / MODEL_DIR if (Path(path) / MODEL_DIR).is_dir() else Path(path)


def _without_overall(stats: dict[str, Any]) -> dict[str, Any]:
    return {feature: {k: v for k, v in values.items() if k not in OVERALL_STATS_KEYS}
            for feature, values in stats.items()}
