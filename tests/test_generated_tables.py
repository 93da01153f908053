"""Generated dataset tables through the whole data stage (prepare_data, no TensorFlow): wrong delimiters and
encodings, BOMs, quoted newlines, empty and duplicate headers, huge fields, NaN and inf, mixed label and split
values.  Every table gives PreparedData or one UserInputError line; never another exception."""

from __future__ import annotations

import csv
import io

from generated import (
    CLASSES,
    check_refusal,
    generated,
    good_members,
    tiny_config,
    write_zip,
)
from hypothesis import event, given
from hypothesis import strategies as st

from ludwig_mnist.data.prepare import prepare_data
from ludwig_mnist.errors import UserInputError
from ludwig_mnist.options import DataOptions

MEMBERS = good_members()
GOOD_PATHS = sorted(MEMBERS)
HOSTILE_CELLS = ["", " ", "nan", "NaN", "inf", "-inf", "1e309", "None", "null", "0.0", "2.0", "1", "7", "-1",
                 "\x00", "a\nb", "\"", "'", "é", "e\u0301", "\ufeff", "../x.png", "/etc/passwd", "C:\\x.png",
                 "img\\a\\0.png", "x" * 5000, "0x1", "True", "💥"]
cell = st.one_of(st.sampled_from(HOSTILE_CELLS), st.text(max_size=12))
image_cell = st.one_of(st.sampled_from(GOOD_PATHS), cell)
label_cell = st.one_of(st.sampled_from(CLASSES), st.integers(-3, 3).map(str), st.floats().map(str), cell)
split_cell = st.one_of(st.sampled_from(["0", "0", "0", "1", "2"]), cell)
header = st.one_of(st.just(["image_path", "label", "split"]),
                   st.permutations(["image_path", "label", "split"]),
                   st.lists(st.sampled_from(["image_path", "label", "split", "", " ", "label", "\ufeffimage_path",
                                             "Image_Path", "x"]), min_size=0, max_size=5))


@st.composite
def tables(draw) -> bytes:
    """A good table (every member, its class, split 0 or 2) with a few generated mutations: a hostile cell, a
    changed header, another delimiter, line ending or encoding, a BOM, a truncation."""
    names = ["image_path", "label", "split"]
    rows = [[path, path.split("/")[1], "2" if path.endswith("3.png") else "0"] for path in GOOD_PATHS]
    for _ in range(draw(st.integers(0, 4))):
        row, column = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, 2))
        rows[row][column] = draw([image_cell, label_cell, split_cell][column])
    if draw(st.integers(0, 4)) == 0:
        names = draw(header)
    if draw(st.integers(0, 4)) == 0:
        rows = [row + [draw(cell)] for row in rows]  # an extra column, maybe with a huge or quoted value
    delimiter = draw(st.sampled_from([",", ",", ",", "\t", ";", "|"]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"])))
    writer.writerow(names)
    writer.writerows(rows)
    text = buffer.getvalue()
    if draw(st.integers(0, 5)) == 0:
        text = text[:draw(st.integers(0, len(text)))]  # truncated anywhere, even inside a quoted field
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"]))
    return text.encode(encoding, errors="replace")


@generated(max_examples=150)
@given(table=tables(), data_format=st.sampled_from(["auto", "auto", "csv", "tsv"]))
def test_generated_tables_prepare_or_refuse(tmp_path_factory, table, data_format):
    directory = tmp_path_factory.mktemp("table")
    (directory / "dataset.csv").write_bytes(table)
    options = DataOptions(raw_data=write_zip(directory / "images.zip", MEMBERS), dataset=directory / "dataset.csv",
                          data_format=data_format)
    try:
        data = prepare_data(tiny_config(), options, directory / "work", seed=0, log=lambda _: None)
    except UserInputError as err:
        message = check_refusal(err, "dataset.csv", "CSV line", "image paths in the CSV", "img/", "dataset")
        event(f"refused: {message[:40]}")
        return
    event("accepted")
    # Accepted: every split's images and labels line up, and labels index the vocabulary.
    assert data.splits["training"].images.shape[0] == len(data.splits["training"].labels) > 0
    for split in data.splits.values():
        assert len(split.sources) == len(split.labels)
        assert split.labels.min() >= 0 and split.labels.max() < len(data.metadata.class_names)
