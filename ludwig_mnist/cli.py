"""`ludwig-mnist` console script: parse arguments, call a pipeline, map known errors to one line.

Exit status: 0 success; 2 bad input the user can fix (one `error: ...` line on
stderr); 1 an internal error (traceback), which is a bug to report.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__, runtime, weights_install
from .config.load import load_config
from .data.archive import ArchiveLimits
from .errors import UserInputError
from .options import EVAL_SPLIT_CHOICES, SET_NAMES, DataOptions, ExplainOptions, PredictOptions, RunOptions

EXIT_USER_ERROR = 2


def _flag(parser: argparse.ArgumentParser, name: str, **kwargs) -> None:
    """Ludwig's underscore spelling, plus the hyphenated alias."""
    names = [f"--{name}"] + ([f"--{name.replace('_', '-')}"] if "_" in name else [])
    parser.add_argument(*names, dest=name, **kwargs)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def _limit_flags(parser: argparse.ArgumentParser, defaults: ArchiveLimits) -> None:
    _flag(parser, "data_format", choices=["auto", "csv", "tsv", "tabular"], default="auto",
          help="dataset format (default: auto, from the first line)")
    _flag(parser, "max_archive_bytes", type=_positive_int, default=defaults.max_total_bytes,
          help=f"refuse archives whose uncompressed size exceeds this (default {defaults.max_total_bytes})")
    _flag(parser, "max_archive_members", type=_positive_int, default=defaults.max_members,
          help=f"refuse archives with more entries than this (default {defaults.max_members})")
    _flag(parser, "max_archive_ratio", type=float, default=defaults.max_ratio,
          help=f"refuse archives that expand more than this many times (zip-bomb guard, default {defaults.max_ratio:g})")
    _flag(parser, "max_image_pixels", type=_positive_int, default=None,
          help="refuse images with more pixels than this (decompression-bomb guard)")


def _label_flags(parser: argparse.ArgumentParser) -> None:
    _flag(parser, "dataset_label", default=None,
          help="name of the dataset in the report header (Galaxy: the history item's name; default: the file name)")
    _flag(parser, "raw_data_label", default=None,
          help="name of the image archive in the report header (default: the file name)")


def _experiment_flags(parser: argparse.ArgumentParser, defaults: ArchiveLimits) -> None:
    _flag(parser, "config", type=Path, required=True, help="Ludwig YAML config")
    _flag(parser, "dataset", type=Path, default=None,
          help="CSV/TSV with image_path,label,split columns; omit it for a folder-format archive "
               "(train/<class>/…, test/<class>/…, optionally val/<class>/…)")
    _flag(parser, "raw_data", type=Path, default=None,
          help="zip or tar(.gz) archive of the images; without it, image paths are relative to the table's folder")
    _flag(parser, "labels_from", choices=["folder", "filename"], default="folder",
          help="without --dataset: class from the folder name (default) or from the file name before its first "
               "underscore (train/7_000123.png)")
    _flag(parser, "output_directory", type=Path, default=Path("results"), help="where results go (default: results)")
    _flag(parser, "random_seed", type=int, default=42, help="seed for splits, initialisation and shuffling (default 42)")
    _limit_flags(parser, defaults)


EXPLAIN_METHODS = ("gradcam", "integrated_gradients")  # explain/methods.METHODS, without importing TensorFlow


def _explain_flags(parser: argparse.ArgumentParser, standalone: bool) -> None:
    """`explain --method M`, or `--explain M` on experiment and predict; then which images."""
    if standalone:
        _flag(parser, "method", choices=EXPLAIN_METHODS, default="gradcam",
              help="Grad-CAM (convolutional encoders) or integrated gradients (any encoder); default gradcam")
    else:
        parser.add_argument("--explain", choices=EXPLAIN_METHODS, default=None,
                            help="also explain predictions: heatmaps in the report's \"What the model looks at\" "
                                 "and in OUT/explanations/ (PNG overlays, attributions.npz)")
    _flag(parser, "num_images", type=_positive_int, default=20,
          help="images explained, round-robin over the classes, correct and misclassified alternating (default 20)")
    _flag(parser, "explain_images", nargs="+", default=[], metavar="IMAGE_PATH",
          help="explain exactly these rows instead, named by their image path as written in the table")


def explain_options(args: argparse.Namespace) -> ExplainOptions | None:
    method = args.method if args.command == "explain" else getattr(args, "explain", None)
    if method is None:
        if getattr(args, "explain_images", None) or getattr(args, "num_images", 20) != 20:
            raise UserInputError("--num_images and --explain_images need --explain gradcam|integrated_gradients")
        return None
    if args.explain_images and args.num_images != 20:
        raise UserInputError("give --num_images or --explain_images, not both: the named rows are all explained")
    return ExplainOptions(method=method, num_images=args.num_images, image_paths=tuple(args.explain_images))


def _parallel_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--disable_parallel_threads", "--disable-parallel-threads", action="store_true",
                        help="run TensorFlow on one thread (Ludwig's flag: reproducible results on one machine, "
                             "slower); description.json records threads: 1")


def build_parser() -> argparse.ArgumentParser:
    defaults = ArchiveLimits()
    parser = argparse.ArgumentParser(prog="ludwig-mnist", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"ludwig-mnist {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    experiment = commands.add_parser("experiment", help="train and evaluate an image classifier from a Ludwig config")
    _experiment_flags(experiment, defaults)
    _label_flags(experiment)
    _flag(experiment, "eval_split", choices=list(EVAL_SPLIT_CHOICES), default="test",
          help="split evaluated into test_statistics.json and predictions.csv (default test; full evaluates the "
               "validation split, as Ludwig 0.10 does)")
    for name, code in zip(SET_NAMES, ("0", "1", "2")):
        _flag(experiment, name, type=Path, default=None,
              help=f"instead of --dataset: a CSV/TSV of the {name.split('_')[0]} rows (split {code}), as in Ludwig")
    _flag(experiment, "training_set_metadata", type=Path, default=None,
          help="training_set_metadata.json of an earlier model: its class vocabulary and image size are used")
    start = experiment.add_mutually_exclusive_group()
    for name, text in (("model_load_path", "start from the weights of this saved model (fine-tuning)"),
                       ("model_resume_path", "continue this saved model's training up to trainer.epochs")):
        start.add_argument(f"--{name}", f"--{name.replace('_', '-')}", dest=name, type=Path, default=None,
                           help=text + "; the config must describe the same network")
    start.add_argument("--encoder_from", "--encoder-from", dest="encoder_from", type=Path, default=None,
                       help="reuse the encoder of this saved model (transfer to new data and classes; the head is "
                            "new); the config's encoder must be the model's, trainable: false freezes it")
    _flag(experiment, "installed_weights", type=Path, default=None, metavar="DIR",
          help="start the encoder from weights the data manager installed (a folder of ludwig-mnist "
               "install-weights; the Galaxy tool passes the selected entry's path)")
    _flag(experiment, "k_fold", type=_positive_int, default=None,
          help="k-fold cross-validation over all rows instead of one train/test run (reports mean ± std)")
    experiment.add_argument("--tensorboard", action="store_true",
                            help="also write TensorBoard event logs (loss and metrics per epoch) to OUT/tensorboard/")
    _parallel_flag(experiment)
    _explain_flags(experiment, standalone=False)

    compare = commands.add_parser("compare", help="run every combination of a parameter grid and rank them")
    _experiment_flags(compare, defaults)
    _flag(compare, "grid", type=Path, default=None,
          help="YAML mapping config key paths to lists of values; default: the config's hyperopt section")
    _flag(compare, "metric", choices=["accuracy", "accuracy_micro", "loss", "hits_at_k", "roc_auc"], default=None,
          help="statistic that picks the best (default: hyperopt.metric, else loss)")
    _flag(compare, "metric_split", choices=["training", "validation", "test"], default=None,
          help="split of that statistic (default: hyperopt.split, else validation)")
    _flag(compare, "goal", choices=["minimize", "maximize"], default=None,
          help="default: hyperopt.goal, else maximize for accuracies and minimize for loss")

    predict = commands.add_parser("predict", help="predict with a model written by experiment (and evaluate, "
                                  "if the dataset has labels)")
    _flag(predict, "model_path", type=Path, required=True,
          help="the experiment's experiment_run/model directory (a Galaxy ludwig_model)")
    _flag(predict, "dataset", type=Path, required=True,
          help="CSV/TSV with the image column; the label and split columns are optional")
    _flag(predict, "raw_data", type=Path, default=None,
          help="zip (or tar) archive of the images; without it, image paths are relative to the dataset's folder")
    _flag(predict, "output_directory", type=Path, required=True, help="where results go")
    _flag(predict, "batch_size", type=_positive_int, default=None,
          help="images per prediction batch (default: the model's trainer.eval_batch_size; 1024 when auto)")
    _flag(predict, "split", choices=["training", "validation", "test", "full"], default="full",
          help="rows to predict: full (every row, default) or one split by the model's own fixed or hash split")
    _parallel_flag(predict)
    _limit_flags(predict, defaults)
    _label_flags(predict)
    _explain_flags(predict, standalone=False)

    explain = commands.add_parser("explain", help="predict with a saved model and explain the predictions "
                                  "(Grad-CAM or integrated gradients heatmaps)")
    for action in predict._actions:  # predict's arguments, then the method and the images
        if action.dest not in ("help", "explain", "num_images", "explain_images"):
            explain._add_action(action)
    _explain_flags(explain, standalone=True)

    _visualize_parser(commands)
    weights_install.add_parser(commands)

    render = commands.add_parser("render-config", aliases=["render_config"],
                                 help="validate a config and write it fully resolved (every default explicit)")
    render.add_argument("config_file", nargs="?", type=Path, default=None, metavar="CONFIG",
                        help="the Ludwig YAML config (or -c/--config, as in Ludwig's render_config)")
    render.add_argument("-c", "--config", dest="config", type=Path, default=None, help=argparse.SUPPRESS)
    render.add_argument("-o", "--output", type=Path, default=None, help="write the YAML here (default: stdout)")

    builder = commands.add_parser("mnist-dataset", help="write MNIST as mnist_images.zip + mnist_dataset.csv")
    _flag(builder, "output_directory", type=Path, required=True)
    _flag(builder, "idx_dir", type=Path, default=None,
          help="directory of the four MNIST IDX files (.gz or raw); without it, keras.datasets.mnist downloads them")
    _flag(builder, "train", type=_positive_int, default=None, help="class-balanced subset of N training images")
    _flag(builder, "test", type=_positive_int, default=None, help="class-balanced subset of N test images")
    _flag(builder, "seed", type=int, default=0, help="seed choosing the subsets (default 0)")
    return parser


def _visualize_parser(commands) -> None:
    from .visualize.names import COMPARE_EXPERIMENTS, LUDWIG_VISUALIZATIONS, SUPPORTED

    vis = commands.add_parser("visualize", help="Ludwig's visualizations of one or more runs' statistics and "
                              "predictions")
    _flag(vis, "visualization", required=True, metavar="NAME",
          help=f"one of {', '.join(sorted(SUPPORTED))} ({len(LUDWIG_VISUALIZATIONS) - len(SUPPORTED)} other Ludwig "
               f"names are refused with one line), or {COMPARE_EXPERIMENTS}: one HTML report comparing the "
               "experiments whose files are given")
    for name, text in (("training_statistics", "training_statistics.json files, one per model"),
                       ("test_statistics", "test_statistics.json files, one per model"),
                       ("probabilities", "predictions files with <feature>_probabilities_<class> columns, one per model"),
                       ("model_names", "names of the models, in the order of the files")):
        _flag(vis, name, nargs="+", default=[], help=text)
    _flag(vis, "ground_truth", type=Path, default=None,
          help="dataset with the true labels, when the probabilities files lack the output column")
    _flag(vis, "ground_truth_metadata", type=Path, default=None,
          help="the run's training_set_metadata.json (class order and training frequencies)")
    _flag(vis, "ground_truth_split", default="2", help="rows of --ground_truth to use: 0/training, 1/validation, "
          "2/test (default 2)")
    _flag(vis, "output_feature_name", default=None, help="the output feature (default: the only one)")
    _flag(vis, "output_directory", type=Path, required=True, help="where the plots go")
    _flag(vis, "file_format", choices=["png", "pdf"], default="png", help="default png")
    _flag(vis, "top_k", type=_positive_int, default=3, help="k of hits at k (default 3)")
    _flag(vis, "positive_label", type=int, default=1, help="class index treated as positive by roc_curves, "
          "precision_recall_curves and binary_threshold_vs_metric (default 1)")
    _flag(vis, "metrics", nargs="+", default=["f1"], help="binary_threshold_vs_metric: accuracy, precision, "
          "recall, f1, specificity (default f1)")
    vis.add_argument("--normalize", action="store_true", help="confusion_matrix: rows divided by their totals")


def _visualize(args: argparse.Namespace) -> None:
    from .visualize.registry import Request
    from .visualize.run import run_visualize

    request = Request(training_statistics=tuple(map(Path, args.training_statistics)),
                      test_statistics=tuple(map(Path, args.test_statistics)),
                      probabilities=tuple(map(Path, args.probabilities)), ground_truth=args.ground_truth,
                      ground_truth_metadata=args.ground_truth_metadata, ground_truth_split=args.ground_truth_split,
                      output_feature_name=args.output_feature_name, model_names=tuple(args.model_names),
                      top_k=args.top_k, positive_label=args.positive_label, metrics=tuple(args.metrics),
                      normalize=args.normalize)
    run_visualize(args.visualization, request, args.output_directory, args.file_format, log=_log)


def _log(message: str) -> None:
    print(message, flush=True)


def _split_sets(args: argparse.Namespace) -> tuple | None:
    """Ludwig's --training_set/--validation_set/--test_set (None when none is given), checked against --dataset."""
    sets = tuple(getattr(args, name, None) for name in SET_NAMES)
    if all(path is None for path in sets):
        if args.dataset is None and args.raw_data is None:
            raise UserInputError("no data: give --dataset (or --training_set), or a folder-format --raw_data "
                                 "archive (train/<class>/..., test/<class>/...)")
        return None
    given = ", ".join(f"--{name}" for name, path in zip(SET_NAMES, sets) if path is not None)
    if args.dataset is not None:
        raise UserInputError(f"give --dataset or {given}, not both (Ludwig would train on --dataset and ignore "
                             "the sets)")
    if sets[0] is None:
        raise UserInputError(f"{given} without --training_set: give the training rows as --training_set")
    return sets


def data_options(args: argparse.Namespace) -> DataOptions:
    limits = ArchiveLimits(max_total_bytes=args.max_archive_bytes, max_members=args.max_archive_members,
                           max_ratio=args.max_archive_ratio)
    return DataOptions(raw_data=args.raw_data, dataset=args.dataset, data_format=args.data_format,
                       split_sets=_split_sets(args),
                       training_set_metadata=getattr(args, "training_set_metadata", None),
                       labels_from=getattr(args, "labels_from", "folder"), limits=limits,
                       max_image_pixels=args.max_image_pixels,
                       dataset_label=getattr(args, "dataset_label", None),
                       raw_data_label=getattr(args, "raw_data_label", None))


def run_options(args: argparse.Namespace) -> RunOptions:
    return RunOptions(data=data_options(args), output_directory=args.output_directory,
                      random_seed=args.random_seed, eval_split=getattr(args, "eval_split", "test"),
                      model_load_path=getattr(args, "model_load_path", None),
                      model_resume_path=getattr(args, "model_resume_path", None),
                      installed_weights=getattr(args, "installed_weights", None),
                      encoder_from=getattr(args, "encoder_from", None),
                      tensorboard=getattr(args, "tensorboard", False), command=tuple(sys.argv),
                      explain=explain_options(args),
                      notes=("eval_split full: the validation split is evaluated, as Ludwig 0.10's experiment does "
                             "for full ('Eval split full not supported. Using validation set instead')",)
                      if getattr(args, "eval_split", "test") == "full" else ())


def run(args: argparse.Namespace) -> None:
    if getattr(args, "disable_parallel_threads", False):
        # runtime.setup_process sizes TensorFlow's thread pools from the cores Galaxy granted (GALAXY_SLOTS):
        # one granted core is one intra-op and one inter-op thread. Set before TensorFlow is imported.
        os.environ["GALAXY_SLOTS"] = "1"
        _log("parallel threads disabled: TensorFlow runs on 1 thread")
    if args.command == "experiment" and args.k_fold:
        from .pipelines.kfold import run_kfold

        ignored = [flag for flag, used in (("--tensorboard", args.tensorboard), ("--model_load_path", args.model_load_path),
                                           ("--model_resume_path", args.model_resume_path),
                                           ("--installed_weights", args.installed_weights),
                                           ("--encoder_from", args.encoder_from),
                                           ("--eval_split", args.eval_split != "test"),
                                           ("--explain", args.explain is not None),
                                           ("--training_set", args.training_set), ("--validation_set", args.validation_set),
                                           ("--test_set", args.test_set),
                                           ("--training_set_metadata", args.training_set_metadata)) if used]
        if ignored:
            raise UserInputError(f"--k_fold cannot be combined with {', '.join(ignored)}: cross-validation trains "
                                 "a fresh model per fold and evaluates each on its held-out fold")
        run_kfold(load_config(args.config), run_options(args), args.k_fold, log=_log)
    elif args.command == "experiment":
        from .pipelines.experiment import run_experiment

        if args.training_set_metadata is not None and (args.model_load_path or args.model_resume_path):
            raise UserInputError("--training_set_metadata cannot be combined with --model_load_path or "
                                 "--model_resume_path: the saved model's own training_set_metadata.json is used")

        # The config is parsed before the output directory is touched: a bad config writes nothing.
        run_experiment(load_config(args.config), run_options(args), log=_log)
    elif args.command == "compare":
        from .config.hyperopt import read_grid_search
        from .pipelines.compare import run_compare

        search = read_grid_search(args.config, args.grid, (args.metric, args.metric_split, args.goal))
        run_compare(search, run_options(args), log=_log)
    elif args.command in ("predict", "explain"):
        from .pipelines.predict import run_predict

        run_predict(PredictOptions(model_path=args.model_path, data=data_options(args),
                                   output_directory=args.output_directory, batch_size=args.batch_size,
                                   split=args.split, explain=explain_options(args)), log=_log)
    elif args.command in ("render-config", "render_config"):
        render_config_command(args)
    elif args.command == "visualize":
        _visualize(args)
    elif args.command in ("install-weights", "install_weights"):
        weights_install.run(args, log=_log)
    elif args.command == "mnist-dataset":
        from .data.mnist import build_mnist_dataset

        zip_path, csv_path = build_mnist_dataset(args.output_directory, args.idx_dir, args.train, args.test,
                                                 seed=args.seed)
        _log(f"wrote {zip_path} and {csv_path}")


def render_config_command(args: argparse.Namespace) -> None:
    from .config.render import render_config

    path = args.config_file or args.config
    if path is None or (args.config_file and args.config and args.config_file != args.config):
        raise UserInputError("render-config needs one config: ludwig-mnist render-config CONFIG [-o OUTPUT]")
    config = load_config(path)
    text = render_config(config, path.name)
    for note in config.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.output is None:
        sys.stdout.write(text)
        return
    partial = args.output.with_name(f".{args.output.name}.partial")
    try:  # written whole or not at all
        partial.write_text(text, encoding="utf-8")
        partial.replace(args.output)
    except OSError as err:
        partial.unlink(missing_ok=True)
        raise UserInputError(f"cannot write {args.output}: {err.strerror}") from None
    _log(f"wrote the resolved config to {args.output}")


def main(argv: list[str] | None = None) -> int:
    runtime.quiet_tensorflow()
    args = build_parser().parse_args(argv)
    try:
        with runtime.stop_on_signals():
            run(args)
    except UserInputError as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        return EXIT_USER_ERROR
    except runtime.Stopped as stop:
        # The pipelines' finally blocks have removed the staging area: nothing that looks like a result is left.
        print(f"error: stopped by {stop.name}; nothing was published, partial files were removed",
              file=sys.stderr, flush=True)
        return 128 + stop.signum
    return 0


if __name__ == "__main__":
    sys.exit(main())
