"""Tables as people have them (``bpnn.tables``): row names, yes/no and TRUE/FALSE, NA in numeric
and categorical columns, unseen categories, missing targets, Parquet, DataFrames, the typing
rule's overrides, and the schema kept in the model file."""

from __future__ import annotations

import csv
import json
import weakref
from pathlib import Path

import numpy as np
import pytest

import bpnn
from bpnn.data.sources import load_source
from bpnn.errors import BpnnError, FormatError
from bpnn.tables import TableOptions, TableSchema, read_table
from bpnn.tables import read as table_read
from conftest import run_cli, run_limited

HEADER = ["", "species", "island", "bill_length_mm", "body_mass_g", "sex", "tagged", "smoker"]


def penguin_rows(n: int = 120, seed: int = 0) -> list[list]:
    """Rows like R's ``write.csv(penguins)``: row names, text categories, NA, TRUE/FALSE, yes/no."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        species = ["Adelie", "Gentoo", "Chinstrap"][i % 3]
        island = {"Adelie": rng.choice(["Torgersen", "Dream"]), "Gentoo": "Biscoe"}.get(
            species, "Dream"
        )
        bill = {"Adelie": 38.8, "Gentoo": 47.5, "Chinstrap": 48.8}[species] + rng.normal()
        mass = {"Adelie": 3700, "Gentoo": 5076, "Chinstrap": 3733}[species] + rng.normal() * 300
        rows.append(
            [
                str(i + 1),
                species,
                island,
                "NA" if i % 11 == 0 else f"{bill:.1f}",
                "NA" if i % 13 == 0 else str(int(mass)),
                "NA" if i % 7 == 0 else str(rng.choice(["male", "female"])),
                "TRUE" if rng.random() < 0.5 else "FALSE",
                "yes" if rng.random() < 0.5 else "no",
            ]
        )
    return rows


def write_table(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def penguins(tmp_path) -> Path:
    return write_table(tmp_path / "penguins.csv", HEADER, penguin_rows())


def column(data, name: str) -> np.ndarray:
    return data.X_train[:, data.feature_names.index(name)]


def test_r_style_csv_goes_in_as_it_is(penguins):
    data = load_source(penguins, target="species")
    schema = data.schema
    assert schema.left_out == (("", "an empty-named first column: row names"),)
    types = {c.name: c.type for c in schema.columns}
    assert types == {
        "island": "categorical",
        "bill_length_mm": "numeric",
        "body_mass_g": "numeric",
        "sex": "categorical",
        "tagged": "boolean",
        "smoker": "boolean",
    }
    assert data.X_train.shape == (120, len(schema.inputs())) and np.isfinite(data.X_train).all()
    assert sorted(set(data.y_train.tolist())) == ["Adelie", "Chinstrap", "Gentoo"]
    log = "\n".join(data.notes)
    assert "left out: (no name): an empty-named first column: row names" in log
    assert "bill_length_mm  numeric           11" in log  # its missing count


def test_yes_no_and_true_false_are_booleans(penguins):
    data = load_source(penguins, target="species")
    rows = penguin_rows()
    np.testing.assert_array_equal(column(data, "tagged"), [r[6] == "TRUE" for r in rows])
    np.testing.assert_array_equal(column(data, "smoker"), [r[7] == "yes" for r in rows])


def test_na_in_a_numeric_column_is_the_median_and_an_indicator(penguins):
    data = load_source(penguins, target="species")
    rows = penguin_rows()
    given = np.array([np.nan if r[3] == "NA" else float(r[3]) for r in rows])
    gaps = np.isnan(given)
    x, flag = column(data, "bill_length_mm"), column(data, "bill_length_mm=(missing)")
    np.testing.assert_array_equal(flag, gaps)
    np.testing.assert_array_equal(x[~gaps], given[~gaps])
    assert (x[gaps] == np.median(given[~gaps])).all()


def test_na_in_a_categorical_column_is_its_own_level(penguins):
    data = load_source(penguins, target="species")
    rows = penguin_rows()
    np.testing.assert_array_equal(column(data, "sex=(missing)"), [r[5] == "NA" for r in rows])
    one_hot = sum(column(data, f"sex={level}") for level in ("female", "male", "(missing)"))
    assert (one_hot == 1).all()


def test_rows_without_a_target_are_left_out_and_counted(tmp_path):
    rows = penguin_rows(30)
    rows[4][1] = "NA"
    rows[9][1] = ""
    path = write_table(tmp_path / "p.csv", HEADER, rows)
    data = load_source(path, target="species")
    assert len(data.y_train) == 28
    assert any("2 row(s) whose target 'species' is missing left out" in n for n in data.notes)


def test_typing_rule_leaves_out_identifiers_constants_and_empty_columns(tmp_path):
    n = 40
    rows = [[f"id-{i}", "same", "", i % 3, i % 2, f"{i * 0.5}"] for i in range(n)]
    path = write_table(tmp_path / "t.csv", ["key", "const", "empty", "code", "flag", "y"], rows)
    schema = load_source(path).schema
    left = dict(schema.left_out)
    assert "identifier" in left["key"] and "constant" in left["const"]
    assert "every value is missing" in left["empty"]
    assert [(c.name, c.type) for c in schema.columns] == [("code", "numeric"), ("flag", "boolean")]


def test_overrides_categorical_numeric_ignore_missing(tmp_path):
    rows = [[i % 4, f"{i}", "x" if i % 2 else "-999", i % 2] for i in range(30)]
    path = write_table(tmp_path / "o.csv", ["grade", "count", "note", "y"], rows)
    options = TableOptions.of(categorical="grade", ignore=["note"], missing="-999")
    data = load_source(path, options=options)
    assert [(c.name, c.type) for c in data.schema.columns] == [
        ("grade", "categorical"),
        ("count", "numeric"),
    ]
    assert data.feature_names[:4] == ["grade=0", "grade=1", "grade=2", "grade=3"]
    assert ("note", "--ignore") in data.schema.left_out
    with pytest.raises(BpnnError, match="--numeric nope: no such column"):
        load_source(path, options=TableOptions.of(numeric="nope"))
    forced = load_source(path, options=TableOptions.of(numeric="note", missing=["x"]))
    assert forced.schema.columns[-1].name == "note" and forced.schema.columns[-1].missing == 15


def test_unseen_categories_and_missing_values_at_prediction(penguins, tmp_path):
    data = load_source(penguins, target="species")
    schema = data.schema
    new = tmp_path / "new.csv"
    # the columns in another order, one more column, an island never seen, gaps everywhere
    new.write_text(
        "smoker,extra,sex,island,body_mass_g,tagged,bill_length_mm\n"
        "no,1,male,Atlantis,NA,TRUE,40\n"
        ",2,,Biscoe,4000,,\n"
    )
    X = schema.encode(read_table(new))
    names = schema.inputs()
    islands = [i for i, name in enumerate(names) if name.startswith("island=")]
    assert X[0, islands].sum() == 0 and X[1, names.index("island=Biscoe")] == 1  # unseen: zeros
    assert X[1, names.index("bill_length_mm=(missing)")] == 1
    assert X[1, names.index("sex=(missing)")] == 1 and np.isfinite(X).all()
    lacking = tmp_path / "lacking.csv"
    lacking.write_text("island,sex\nDream,male\n")
    with pytest.raises(BpnnError, match="no column 'bill_length_mm'") as info:
        schema.encode(read_table(lacking))
    assert "\n" not in str(info.value)


def test_rare_levels_are_pooled_into_other(tmp_path):
    rows = [["common" if i % 10 else f"rare{i}", i % 2] for i in range(600)]
    path = write_table(tmp_path / "r.csv", ["kind", "y"], rows)
    spec = load_source(path).schema.columns[0]
    assert spec.levels == ("common",) and spec.other
    X = load_source(path).X_train
    np.testing.assert_array_equal(X[:, 1], [i % 10 == 0 for i in range(600)])  # kind=(other)


def test_parquet_reads_as_the_csv(penguins, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(_arrow(penguins), tmp_path / "p.parquet")
    a = load_source(penguins, target="species")
    b = load_source(tmp_path / "p.parquet", target="species")
    assert a.feature_names == b.feature_names
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_train, b.y_train)


def _arrow(path: Path):
    import pyarrow.csv as pc

    return pc.read_csv(path, convert_options=pc.ConvertOptions(null_values=["NA"]))


def test_the_strict_reader_gives_the_same_data(penguins, monkeypatch):
    fast = load_source(penguins, target="species")
    monkeypatch.setattr(table_read, "_arrow_csv", table_read.strict_table)  # no pyarrow
    strict = load_source(penguins, target="species")
    assert fast.feature_names == strict.feature_names
    np.testing.assert_array_equal(fast.X_train, strict.X_train)
    np.testing.assert_array_equal(fast.y_train, strict.y_train)


@pytest.mark.parametrize("strict", [False, True])
def test_ragged_rows_and_bytes_are_named_by_line(tmp_path, monkeypatch, strict):
    if strict:
        monkeypatch.setattr(table_read, "_arrow_csv", table_read.strict_table)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b,y\n1,x,0\n2,y,1\n3,1\n")
    with pytest.raises(FormatError, match="line 4: 2 fields, but the header has 3 columns"):
        load_source(ragged)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"a,b,y\n1,caf\xc3\xa9,0\n2,caf\xe9,1\n")
    with pytest.raises(FormatError, match="line 3: not UTF-8"):
        load_source(latin)


def test_schema_json_round_trip(penguins):
    schema = load_source(penguins, target="species").schema
    again = TableSchema.from_dict(json.loads(json.dumps(schema.to_dict())))
    assert again == schema
    with pytest.raises(FormatError, match="unreadable table schema"):
        TableSchema.from_dict({"format": "bpnn-table"})


def test_cli_train_predict_evaluate_on_raw_rows(penguins, tmp_path, capsys):
    run = tmp_path / "run"
    code, out, err = run_cli(
        capsys, "train", "--data", penguins, "--target", "species", "--out", run,
        "--no-report", "--epochs", "30", "--ignore", "smoker",
    )  # fmt: skip
    assert code == 0, err
    assert "left out: smoker: --ignore" in out and "island          categorical" in out
    meta = bpnn.load(run).info.data
    assert meta.schema is not None and meta.schema["format"] == "bpnn-table"
    new = tmp_path / "new.csv"
    new.write_text("tagged,island,sex,body_mass_g,bill_length_mm\nTRUE,Atlantis,NA,5000,47\n")
    code, out, err = run_cli(capsys, "predict", run, "--rows", new)
    assert code == 0, err
    assert out.splitlines()[0] == "prediction,p_Adelie,p_Chinstrap,p_Gentoo"
    code, out, err = run_cli(capsys, "evaluate", run, "--json")
    assert code == 0 and json.loads(out)["accuracy"] > 0.8, err
    lacking = tmp_path / "lacking.csv"
    lacking.write_text("island,sex\nDream,male\n")
    code, out, err = run_cli(capsys, "predict", run, "--rows", lacking)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "no column" in err


def test_dataframes_into_fit_and_predict(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.read_csv(write_table(tmp_path / "p.csv", HEADER, penguin_rows(150)))
    frame = frame.drop(columns=frame.columns[0])
    y = frame.pop("species")
    model = bpnn.fit(frame, y, hidden=[16], epochs=40, seed=1, categorical="smoker")
    assert {c.name: c.type for c in model.schema.columns}["smoker"] == "categorical"
    shuffled = frame[frame.columns[::-1]].assign(extra=1.0)
    shuffled.loc[0, "island"] = "Atlantis"  # unseen
    labels = model.predict(shuffled)
    assert labels.shape == (150,) and (labels[1:] == y[1:]).mean() > 0.8
    path = tmp_path / "m.npz"
    model.save(path)
    np.testing.assert_array_equal(bpnn.load(path).predict(shuffled), labels)
    with pytest.raises(BpnnError, match="no column 'island'"):
        model.predict(frame.drop(columns="island"))


@pytest.mark.parametrize("nullable", [False, True])
def test_a_dataframes_rows_without_a_target_are_left_out(nullable):
    """As the command line leaves a table's rows without a target out: text labels with NaN
    (a traceback from NumPy's sort before), values with NaN (refused before), pandas' nullable
    Int64 and string targets with NA; each counted in the log; all missing is one error."""
    pd = pytest.importorskip("pandas")
    gen = np.random.default_rng(0)
    frame = pd.DataFrame({"a": gen.normal(size=120), "b": gen.choice(["x", "y"], 120)})
    labels = pd.Series(np.where(frame["a"] > 0, "up", "down"), dtype=object)
    labels[::7] = np.nan
    labels[3] = "NA"  # a missing token, as in a table's own columns
    values = pd.Series(frame["a"] * 2.0)
    values[::5] = np.nan
    counts = pd.Series((frame["a"] > 0).astype(int))
    if nullable:
        frame, labels = frame.convert_dtypes(), labels.convert_dtypes()
        values, counts = values.convert_dtypes(), counts.astype("Int64")
    counts[::6] = pd.NA if nullable else np.nan
    for y, left, task in [(labels, 19, "classify"), (values, 24, "regress")]:
        lines = []
        model = bpnn.fit(frame, y, epochs=2, seed=0, log=lines.append)
        assert f"the DataFrame: {left} row(s) whose target is missing left out" in lines
        assert model.task == task and len(model.predict(frame)) == 120
    if nullable:  # Int64 with gaps: integer class labels once the gaps are gone
        model = bpnn.fit(frame, counts, epochs=2, seed=0)
        assert model.task == "classify" and set(model.classes.tolist()) == {0, 1}
    with pytest.raises(BpnnError, match="the DataFrame: every row's target is missing"):
        bpnn.fit(frame, pd.Series([None] * 120, dtype=object), epochs=1)
    test = frame.head(30).copy()
    lines = []
    bpnn.fit(frame, labels, X_test=test, y_test=labels.head(30), epochs=1, log=lines.append)
    assert "the test DataFrame: 6 row(s) whose target is missing left out" in lines
    # a categorical column of integers with gaps: integer classes, as without gaps
    codes = pd.Series(pd.Categorical(np.where(frame["a"] > 0, 1, 2))).where(
        lambda c: c.index % 9 > 0
    )
    model = bpnn.fit(frame, codes, epochs=1, seed=0)
    assert model.task == "classify" and model.classes.tolist() == [1, 2]
    with pytest.raises(BpnnError, match="the DataFrame has 120 rows but 100 targets"):
        bpnn.fit(frame, labels.head(100), epochs=1)  # (a gap among them: no silent cut)


def test_a_model_without_a_schema_has_none(tmp_path):
    X = np.random.default_rng(0).normal(size=(40, 3))
    model = bpnn.fit(X, (X[:, 0] > 0).astype(int), epochs=2)
    assert model.schema is None


def test_a_table_of_numbers_becomes_its_inputs_in_place(tmp_path):
    rng = np.random.default_rng(3)
    train = rng.normal(size=(3000, 4)).round(4)
    path = tmp_path / "train.csv"
    np.savetxt(path, train, fmt="%.4f", delimiter=",", header="a,y,b,c", comments="")
    test = tmp_path / "test.csv"
    test.write_text("c,b,y,a\n1.5,NA,2,0.25\n,2,3,\n")  # other order, gaps
    data = load_source(path, target="y", test=test)
    np.testing.assert_array_equal(data.X_train, train[:, [0, 2, 3]])  # as np.loadtxt reads it
    np.testing.assert_array_equal(data.y_train, train[:, 1])
    medians = np.median(train[:, [0, 2, 3]], axis=0)
    np.testing.assert_array_equal(
        data.X_test, [[0.25, medians[1], 1.5], [medians[0], 2, medians[2]]]
    )


def test_none_is_a_level_and_missing_tokens_any_case(tmp_path):
    rows = [
        ["None" if i % 3 == 0 else "Some", "n/A" if i % 4 == 0 else i, i % 2] for i in range(30)
    ]
    data = load_source(write_table(tmp_path / "e.csv", ["Exer", "x", "y"], rows))
    exer, x = data.schema.columns
    assert exer.levels == ("None", "Some") and exer.missing == 0
    assert x.type == "numeric" and x.missing == 8 and x.indicator


def test_a_sweep_trial_takes_the_typing_overrides_from_its_base(penguins, tmp_path):
    from bpnn.sweep.trial import run_trial

    settings = {"epochs": 1, "ignore": "smoker", "categorical": ["tagged"]}
    trial = {"name": "trial-000", "settings": settings, "params": {}}
    record = run_trial(trial, {"source": str(penguins), "target": "species"}, tmp_path / "t")
    assert record["status"] == "done", record
    log = (tmp_path / "t" / "train.log").read_text()
    assert "left out: smoker: --ignore" in log and "tagged          categorical" in log
    assert "--ignore smoker" in record["command"]


def test_resume_reads_the_table_with_the_recorded_overrides(penguins, tmp_path, capsys):
    run = tmp_path / "run"
    base = ["train", "--data", penguins, "--target", "species", "--no-report"]
    code, out, err = run_cli(capsys, *base, "--out", run, "--epochs", "2", "--ignore", "smoker")
    assert code == 0, err
    code, out, err = run_cli(capsys, "train", "--resume", run, "--epochs", "3", "--no-report")
    assert code == 0 and "resuming" in out, err  # the same inputs: smoker left out again
    code, out, err = run_cli(capsys, "train", "--resume", run, "--ignore", "sex")
    assert code == 2 and "--ignore cannot be given with --resume" in err


@pytest.mark.parametrize("whole", [True, False])
@pytest.mark.parametrize("gaps", [False, True])
def test_numbers_read_in_many_blocks_are_the_same_inputs(tmp_path, monkeypatch, gaps, whole):
    """pyarrow blocks of ~3 rows, read whole or streamed: the inputs, medians and error lines
    match one block's."""
    pytest.importorskip("pyarrow")
    rng = np.random.default_rng(5)
    values = rng.normal(size=(100, 4)).round(4)
    lines = [",".join(f"{v:.4f}" for v in row) for row in values]
    if gaps:
        lines[10] = "NA," + lines[10].split(",", 1)[1]
    path = tmp_path / "t.csv"
    path.write_text("a,b,c,y\n" + "\n".join(lines) + "\n")
    one = load_source(path)
    monkeypatch.setattr(table_read, "BLOCK_BYTES", 100)
    if not whole:
        monkeypatch.setattr(table_read, "available_memory", lambda: 0)
    table = read_table(path)
    assert len(table.column("a").chunks) > 20
    many = load_source(path)
    np.testing.assert_array_equal(many.X_train, one.X_train)
    np.testing.assert_array_equal(many.y_train, one.y_train)
    assert many.schema.to_dict() == one.schema.to_dict()
    a = values[:, 0] if not gaps else np.delete(values[:, 0], 10)
    assert many.schema.columns[0].fill == np.median(a)
    # two values out of range in blocks copied on different threads: the first is named
    bad = lines[:50] + ["1e39,1,2,3"] + lines[50:90] + ["1,-1e39,2,3"] + lines[90:]
    path.write_text("a,b,c,y\n" + "\n".join(bad) + "\n")
    with pytest.raises(FormatError, match="line 52, column 'a'"):
        load_source(path)


def test_a_file_large_beside_the_memory_available_is_streamed(tmp_path, monkeypatch):
    """Read whole (parsed on every core) up to WHOLE_FILE_SHARE of the memory available, else
    streamed a block at a time: the same data either way."""
    pa_csv = pytest.importorskip("pyarrow.csv")
    rows = [[i % 7, "NA" if i % 5 == 0 else i / 4, "uvw"[i % 3], i % 2] for i in range(300)]
    path = write_table(tmp_path / "t.csv", ["a", "b", "c", "y"], rows)
    whole_reads = []
    read_csv = pa_csv.read_csv
    monkeypatch.setattr(
        pa_csv, "read_csv", lambda *a, **k: whole_reads.append(a) or read_csv(*a, **k)
    )
    monkeypatch.setattr(table_read, "BLOCK_BYTES", 1000)
    enough = int(path.stat().st_size / table_read.WHOLE_FILE_SHARE)
    data = {}
    for available in (enough, enough - 8):
        monkeypatch.setattr(table_read, "available_memory", lambda a=available: a)
        whole_reads.clear()
        data[available] = load_source(path)
        assert len(whole_reads) == (available == enough)
    a, b = data.values()
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert a.schema.to_dict() == b.schema.to_dict()


def test_a_consumed_table_is_freed_block_by_block_and_encodes_the_same(tmp_path, monkeypatch):
    """encode(consume=True) of a table with text (the general path) gives the inputs of
    encode() and lets go of the table's chunks; a file read whole lets go of each of pyarrow's
    blocks once gathered (a column with gaps is not held twice)."""
    pytest.importorskip("pyarrow")
    monkeypatch.setattr(table_read, "BLOCK_BYTES", 300)
    path = write_table(tmp_path / "p.csv", HEADER, penguin_rows(200))
    schema = load_source(path, target="species").schema
    kept, consumed = read_table(path), read_table(path)
    assert len(consumed.columns[1].chunks) > 5
    np.testing.assert_array_equal(schema.encode(consumed, consume=True), schema.encode(kept))
    assert consumed.columns == [] and kept.columns

    class Block:
        pass

    blocks = [Block() for _ in range(3)]
    alive = [weakref.ref(b) for b in blocks]
    drained = table_read._drained(blocks)
    del blocks
    first = next(drained)
    del first
    assert alive[0]() is None and alive[1]() is not None


def test_the_memory_available_is_less_under_an_address_space_limit():
    """Under ``ulimit -v`` the address space left bounds the memory a file may be read into."""
    out = run_limited(
        """
        from bpnn.tables.read import available_memory
        print(available_memory())
        """,
        memory=3 << 30,
    )
    assert 0 < int(out) < 3 << 30
    assert table_read.available_memory() > 0  # Linux: MemAvailable, no limit here


def test_a_column_missing_in_the_first_block_is_typed_by_its_numbers(tmp_path, monkeypatch):
    """Gaps only in pyarrow's first block, then numbers: a numeric column (0/1: boolean), read
    whole or streamed, as the strict reader types it."""
    pytest.importorskip("pyarrow")
    monkeypatch.setattr(table_read, "BLOCK_BYTES", 200)
    rows = [["NA" if i < 40 else i % 2, "NA" if i < 40 else i / 8, i % 3] for i in range(200)]
    path = write_table(tmp_path / "t.csv", ["flag", "x", "y"], rows)
    strict = table_read.strict_table(path, table_read.missing_tokens())
    for available in (1 << 40, 0):
        monkeypatch.setattr(table_read, "available_memory", lambda a=available: a)
        table = read_table(path)
        assert (
            [c.kind for c in table.columns]
            == [c.kind for c in strict.columns]
            == ["float"] * 2 + ["int"]
        )
        flag, x = load_source(path).schema.columns
        assert (flag.type, flag.missing, x.type, x.missing) == ("boolean", 40, "numeric", 40)


def test_reading_a_table_imports_no_pandas(tmp_path):
    """pyarrow's to_numpy imports pandas (about a second): numbers and text are read without."""
    pytest.importorskip("pyarrow")
    rows = [[i, "NA" if i % 4 == 0 else i / 2, "uvw"[i % 3], i % 2] for i in range(100)]
    path = write_table(tmp_path / "t.csv", ["a", "b", "c", "y"], rows)
    out = run_limited(
        f"""
        import sys
        from bpnn.data.sources import load_source
        data = load_source({str(path)!r})
        print(data.X_train.shape, "pandas" in sys.modules)
        """,
        memory=4 << 30,
    )
    assert out.split() == ["(100,", "6)", "False"]  # a, b, b=(missing), c=u, v, w


def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two():
    from bpnn.tables.stats import median

    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 4, 11, 1000):
        x = rng.integers(0, 4, n).astype(float)
        assert median(x.copy()) == np.median(x)
    assert median(np.array([4.0, 1.0, 3.0, 2.0])) == 2.5


def test_the_row_names_column_is_not_a_target(tmp_path, capsys):
    """R's empty-named first column (row numbers) asked for as the target: one line, exit 2."""
    from bpnn.cli import main

    path = tmp_path / "r.csv"
    path.write_text('"","x","y"\n' + "".join(f'"{i}",{i % 5},{i % 2}\n' for i in range(1, 41)))
    assert main(["train", "--data", str(path), "--target", "", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "row names" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_column_of_many_levels_keeps_them_all(tmp_path):
    """100 levels of 6 rows each (countries, players): each keeps its own input, past the 64 of
    before; a long table keeps fewer, so that its one-hot inputs stay within LEVEL_VALUES."""
    from bpnn.tables import schema as table_schema

    rows = [[f"c{i % 100}", i % 100 + (i % 7) / 10] for i in range(600)]
    path = write_table(tmp_path / "many.csv", ["country", "y"], rows)
    spec = load_source(path).schema.columns[0]
    assert len(spec.levels) == 100 and not spec.other
    assert table_schema.max_levels(600) == table_schema.MAX_LEVELS == 2048
    assert table_schema.max_levels(1_000_000) == table_schema.LEVEL_VALUES // 1_000_000 == 134
    assert table_schema.max_levels(10**8) == 64


def test_levels_past_the_most_kept_are_pooled(tmp_path, monkeypatch):
    from bpnn.tables import schema as table_schema

    monkeypatch.setattr(table_schema, "MAX_LEVELS", 70)
    rows = [[f"c{i % 80:02d}", i % 2] for i in range(80 * 6 + 6)]  # c00..c05 one row more
    path = write_table(tmp_path / "pooled.csv", ["kind", "y"], rows)
    spec = load_source(path).schema.columns[0]
    assert len(spec.levels) == 70 and spec.other
    assert {f"c{i:02d}" for i in range(6)} <= set(spec.levels)


def test_level_codes_read_each_distinct_value_once_and_merge_equal_levels():
    """``level_codes`` (the one-hot encoding's and the level counts' step): text as it is, None
    missing; numbers by ``level`` (1.0 and 1 one level "1"), every NaN one missing level."""
    from bpnn.tables.schema import level_codes

    codes, keys = level_codes(np.array(["b", "a", None, "b", "1", None], dtype=object))
    assert [keys[c] for c in codes] == ["b", "a", None, "b", "1", None]
    assert len(keys) == 4
    codes, keys = level_codes(np.array([2.0, np.nan, 2.0, 3.5, np.nan, -0.0, 0.0, 1e20]))
    assert [keys[c] for c in codes] == ["2", None, "2", "3.5", None, "0", "0", str(10**20)]
    assert sorted(keys, key=str) == sorted(["2", None, "3.5", "0", str(10**20)], key=str)
    codes, keys = level_codes(np.array([3, 1, 3]))
    assert [keys[c] for c in codes] == ["3", "1", "3"]
    mixed = np.array([float("nan"), 1.0, 1, True, "1", None], dtype=object)  # (not from files)
    codes, keys = level_codes(mixed)
    assert [keys[c] for c in codes] == [None, "1", "1", "True", "1", None]
    for empty in (np.array([], dtype=object), np.array([])):
        codes, keys = level_codes(empty)
        assert codes.shape == (0,) and keys == []


def test_text_values_are_read_once_each_and_kept_apart_by_type():
    """``_text`` reads each distinct text once; other values one at a time (1, 1.0 and True
    stay their own texts), missing tokens in any case become None."""
    values = np.array([" a", "NA", "a ", None, float("nan"), 1, 1.0, True, "na"], dtype=object)
    out = table_read._text(values, frozenset({"na"}))
    assert out.tolist() == ["a", None, "a", None, None, "1", "1.0", "True", None]


def test_text_reading_remembers_a_bounded_number_of_texts(monkeypatch):
    """A column of identifiers (a distinct text a row) reads the same, its memory bounded."""
    monkeypatch.setattr(table_read, "MEMO_TEXTS", 3)
    values = np.array([f" id{i % 5}" for i in range(12)] + ["NA"], dtype=object)
    out = table_read._text(values, frozenset({"na"}))
    assert out.tolist() == [f"id{i % 5}" for i in range(12)] + [None]
