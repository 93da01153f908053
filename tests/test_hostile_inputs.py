"""The hostile and broken input matrix, through the CLI: every row checks the message, the exit
status, and that nothing was written outside the output directory (and no result inside it)."""

import gzip
import io
import stat
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from synthetic import TINY_CONFIG, class_image, png_bytes, write_config

from ludwig_mnist.cli import main

CLASSES = ("a", "b", "c")
RESULT_NAMES = {"experiment_run", "ludwig_experiment_report.html", "metrics.tsv", "plots"}


def snapshot(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def image_members(per_class=8, test_per_class=2, size=12):
    rng = np.random.default_rng(1)
    members, rows = {}, []
    for split, code, count in (("training", 0, per_class), ("test", 2, test_per_class)):
        for index, label in enumerate(CLASSES):
            for n in range(count):
                name = f"{split}/{label}/{n}.png"
                members[name] = png_bytes(class_image(index, len(CLASSES), size, rng))
                rows.append((name, label, code))
    return members, rows


def write_inputs(directory: Path, members: dict, rows, header="image_path,label,split", config=TINY_CONFIG):
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(directory / "images.zip", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    lines = [header] + [",".join(str(v) for v in row) for row in rows]
    (directory / "dataset.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_config(directory, config)
    return directory / "config.yaml", directory / "dataset.csv", directory / "images.zip"


def run(tmp_path, capsys, inputs, *extra):
    """Runs the CLI in tmp_path/work; returns (exit code, stderr, stdout, output dir)."""
    config, dataset, archive = inputs
    out = tmp_path / "work" / "out"
    before = snapshot(tmp_path)
    code = main(["experiment", "--config", str(config), "--dataset", str(dataset), "--raw_data", str(archive),
                 "--output_directory", str(out), *extra])
    captured = capsys.readouterr()
    created = snapshot(tmp_path) - before
    outside = [p for p in created if p != "work" and not p.startswith("work/out")]  # work/: the parent of out
    assert outside == [], f"written outside the output directory: {outside}"
    if code != 0:
        assert not (out.exists() and RESULT_NAMES & {p.name for p in out.iterdir()}), "failed run left results"
        assert [line for line in captured.err.splitlines() if line.startswith("error:")], captured.err
    return code, captured.err, captured.out, out


@pytest.fixture
def good(tmp_path):
    return image_members()


def test_zip_slip_is_refused(tmp_path, capsys, good):
    members, rows = good
    inputs = write_inputs(tmp_path / "in", {**members, "../../evil.txt": b"x", "/abs/evil2.txt": b"y"}, rows)
    code, err, _, _ = run(tmp_path, capsys, inputs)
    assert code == 2 and "../../evil.txt" in err
    assert not (tmp_path / "evil.txt").exists() and not Path("/abs/evil2.txt").exists()


def test_symlink_entry_is_skipped_never_followed(tmp_path, capsys, good):
    members, rows = good
    inputs = write_inputs(tmp_path / "in", members, rows)
    with zipfile.ZipFile(inputs[2], "a") as archive:
        link = zipfile.ZipInfo("training/a/link.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    code, _, out_log, out = run(tmp_path, capsys, inputs)
    assert code == 0 and "symlink" in out_log
    assert not any(p.is_symlink() for p in out.rglob("*"))


def test_zip_bomb_is_refused_before_extraction(tmp_path, capsys, good):
    members, rows = good
    inputs = write_inputs(tmp_path / "in", members, rows)
    with zipfile.ZipFile(inputs[2], "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("training/a/bomb.bin", bytes(60 * 1024 * 1024))  # 60 MB of zeros → ~60 KB
    code, err, _, _ = run(tmp_path, capsys, inputs)
    assert code == 2 and "--max_archive_ratio" in err


def test_archive_over_the_size_limit_names_the_flag(tmp_path, capsys, good):
    members, rows = good
    code, err, _, _ = run(tmp_path, capsys, write_inputs(tmp_path / "in", members, rows), "--max_archive_bytes", "1000")
    assert code == 2 and "--max_archive_bytes" in err


@pytest.mark.parametrize("payload, found", [(png_bytes(np.zeros((4, 4), np.uint8)), "PNG"),
                                            (b"image_path,label\n", "text"),
                                            (gzip.compress(b"just text"), "gzip")])
def test_not_an_archive_names_the_format(tmp_path, capsys, good, payload, found):
    members, rows = good
    config, dataset, _ = write_inputs(tmp_path / "in", members, rows)
    fake = tmp_path / "in" / "fake.zip"
    fake.write_bytes(payload)
    code, err, _, _ = run(tmp_path, capsys, (config, dataset, fake))
    assert code == 2 and found in err and "fake.zip" in err


def test_tar_gz_is_accepted_in_place_of_a_zip(tmp_path, capsys, good):
    members, rows = good
    config, dataset, _ = write_inputs(tmp_path / "in", members, rows)
    tgz = tmp_path / "in" / "images.tgz"
    with tarfile.open(tgz, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    assert run(tmp_path, capsys, (config, dataset, tgz))[0] == 0


def test_empty_zip_and_empty_csv(tmp_path, capsys, good):
    members, rows = good
    config, dataset, _ = write_inputs(tmp_path / "in", members, rows)
    empty_zip = tmp_path / "in" / "empty.zip"
    zipfile.ZipFile(empty_zip, "w").close()
    code, err, _, _ = run(tmp_path, capsys, (config, dataset, empty_zip))
    assert code == 2 and "empty.zip" in err and "no files" in err
    header_only = tmp_path / "in" / "header.csv"
    header_only.write_text("image_path,label,split\n")
    code, err, _, _ = run(tmp_path, capsys, (config, header_only, tmp_path / "in" / "images.zip"))
    assert code == 2 and "header.csv" in err and "no rows" in err


def test_missing_images_list_paths_and_count(tmp_path, capsys, good):
    members, rows = good
    kept = {k: v for k, v in members.items() if not k.startswith("training/b/")}
    code, err, _, _ = run(tmp_path, capsys, write_inputs(tmp_path / "in", kept, rows))
    assert code == 2 and "8 of 30 image paths" in err and "training/b/0.png" in err and "line" in err


@pytest.mark.parametrize("bad_bytes", [b"not an image at all", None, "truncated_jpeg"])
def test_corrupt_images_are_named(tmp_path, capsys, good, bad_bytes):
    members, rows = good
    if bad_bytes is None:  # a PNG cut in half
        bad_bytes = members["training/b/3.png"][:40]
    elif bad_bytes == "truncated_jpeg":
        buffer = io.BytesIO()
        Image.fromarray(np.full((12, 12), 99, np.uint8)).save(buffer, format="JPEG")
        bad_bytes = buffer.getvalue()[:-60]
    members = {**members, "training/b/3.png": bad_bytes}
    code, err, _, _ = run(tmp_path, capsys, write_inputs(tmp_path / "in", members, rows))
    assert code == 2 and "training/b/3.png" in err


def _png(mode: str, size=12) -> bytes:
    buffer = io.BytesIO()
    array = np.random.default_rng(0).integers(0, 255, (size, size), np.uint8)
    if mode == "RGBA":
        image = Image.fromarray(np.dstack([array] * 4), "RGBA")
    elif mode == "P":
        image = Image.fromarray(array).convert("P")
    elif mode == "I;16":
        image = Image.fromarray(array.astype(np.uint16) * 257)
    else:  # LA
        image = Image.fromarray(np.dstack([array] * 2), "LA")
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_unusual_png_modes_and_sizes_are_converted_with_notes(tmp_path, capsys, good):
    members, rows = good
    members = {**members, "training/a/0.png": _png("RGBA"), "training/a/1.png": _png("P"),
               "training/b/0.png": _png("I;16"), "training/b/1.png": _png("LA"), "training/c/0.png": _png("LA", 20)}
    code, _, log, _ = run(tmp_path, capsys, write_inputs(tmp_path / "in", members, rows))
    assert code == 0 and "resized" in log and "converted" in log


def test_decompression_bomb_image_is_refused(tmp_path, capsys, good):
    members, rows = good
    # a small file that decodes to 144 million pixels: refused before any pixel is decoded
    buffer = io.BytesIO()
    Image.new("1", (12000, 12000)).save(buffer, format="PNG")
    members = {**members, "training/c/1.png": buffer.getvalue()}
    code, err, _, _ = run(tmp_path, capsys, write_inputs(tmp_path / "in", members, rows), "--max_image_pixels", "1000000")
    assert code == 2 and "training/c/1.png" in err and "--max_image_pixels" in err


def test_missing_columns_are_named_with_the_columns_present(tmp_path, capsys, good):
    members, rows = good
    code, err, _, _ = run(tmp_path, capsys, write_inputs(tmp_path / "in", members, rows, header="path,label,split"))
    assert code == 2 and "no column 'image_path'" in err and "columns present: path, label, split" in err
    code, err, _, _ = run(tmp_path, capsys, write_inputs(tmp_path / "in2", members, rows, header="image_path,digit,split"))
    assert code == 2 and "no column 'label'" in err


def test_empty_labels_are_dropped_and_counted(tmp_path, capsys, good):
    members, rows = good
    rows = [(path, "" if i in (1, 5) else label, split) for i, (path, label, split) in enumerate(rows)]
    code, _, log, _ = run(tmp_path, capsys, write_inputs(tmp_path / "in", members, rows))
    assert code == 0 and "dropped 2 rows with an empty label" in log


def test_split_errors_and_an_empty_test_split(tmp_path, capsys, good):
    members, rows = good
    bad_codes = [(p, label, 7 if i == 0 else s) for i, (p, label, s) in enumerate(rows)]
    code, err, _, _ = run(tmp_path, capsys, write_inputs(tmp_path / "a", members, bad_codes))
    assert code == 2 and "must hold 0 (training), 1 (validation) or 2 (test)" in err and "line 2 ('7')" in err
    no_train = [(p, label, 2) for p, label, _ in rows]
    code, err, _, _ = run(tmp_path, capsys, write_inputs(tmp_path / "b", members, no_train))
    assert code == 2 and "training split is empty" in err
    no_test = [(p, label, 0) for p, label, _ in rows]
    code, _, log, out = run(tmp_path, capsys, write_inputs(tmp_path / "c", members, no_test))
    assert code == 0 and "no test rows (split 2): test metrics are skipped" in log
    assert not (out / "experiment_run/test_statistics.json").exists()
    assert (out / "experiment_run/training_statistics.json").is_file()


def test_a_single_class_is_an_error(tmp_path, capsys, good):
    members, rows = good
    single = [(p, "a", s) for p, _, s in rows]
    code, err, _, _ = run(tmp_path, capsys, write_inputs(tmp_path / "in", members, single))
    assert code == 2 and "single class" in err


@pytest.mark.parametrize("config_text, expected", [
    ("input_features:\n  - name: x\n    type: [image\n", "not valid YAML at line 4, column 1"),
    (TINY_CONFIG.replace("epochs: 2", "epocs: 2"), "unknown config key 'trainer.epocs'; did you mean 'epochs'?"),
    (TINY_CONFIG.replace("batch_size: 16", "batch_size: sixteen"), "'trainer.batch_size': expected a positive integer or 'auto'"),
    (TINY_CONFIG.replace("epochs: 2", "epochs: -3"), "'trainer.epochs': expected an integer >= 1, got -3"),
    (TINY_CONFIG.replace("type: stacked_cnn", "type: stacked_cn"), "'stacked_cn' is not supported; choose one of"),
])
def test_config_errors_name_the_key(tmp_path, capsys, good, config_text, expected):
    members, rows = good
    code, err, _, out = run(tmp_path, capsys, write_inputs(tmp_path / "in", members, rows, config=config_text))
    assert code == 2 and expected in err
    assert not out.exists()  # a bad config fails before the output directory is touched


def test_non_ascii_and_spaces_in_file_and_class_names_work(tmp_path, capsys, good):
    members, rows = good
    renamed = {name.replace("training/a/", "training/éte été/").replace("/c/", "/chat noir/"): data
               for name, data in members.items()}
    rows = [(p.replace("training/a/", "training/éte été/").replace("/c/", "/chat noir/"),
             {"a": "été", "c": "chat noir"}.get(label, label), s) for p, label, s in rows]
    code, _, _, out = run(tmp_path, capsys, write_inputs(tmp_path / "in", renamed, rows))
    assert code == 0
    header = (out / "experiment_run/predictions.csv").read_text(encoding="utf-8").splitlines()[0]
    assert "label_probabilities_été" in header and "label_probabilities_chat noir" in header


def test_unwritable_output_directory(tmp_path, capsys, good):
    members, rows = good
    inputs = write_inputs(tmp_path / "in", members, rows)
    blocker = tmp_path / "work"
    blocker.write_text("a file where a directory should be")
    code = main(["experiment", "--config", str(inputs[0]), "--dataset", str(inputs[1]), "--raw_data", str(inputs[2]),
                 "--output_directory", str(blocker / "out")])
    assert code == 2 and "is not writable" in capsys.readouterr().err
