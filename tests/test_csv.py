"""Loading the user's own CSV files: bpviz.engine.csvdata.load_csv and its error messages."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bpviz.engine import csvdata
from bpviz.engine.csvdata import MAX_FEATURES, MIN_ROWS, load_csv, split_indices
from bpviz.engine.errors import ConfigError, DataError

IRIS_LIKE = """\
sepal,petal,species
5.1,1.4,setosa
4.9,1.3,setosa
6.4,4.5,versicolor
6.9,4.9,versicolor
6.3,6.0,virginica
5.8,5.1,virginica
"""


def write(tmp_path, content, name="data.csv"):
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def refused(path, *parts, **kwargs) -> str:
    """Load ``path``, expect a DataError naming the file and every part; return the message."""
    with pytest.raises(DataError) as info:
        load_csv(path, **kwargs)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    for part in parts:
        assert part in message
    return message


# --- files that load ------------------------------------------------------------------------------

def test_class_names(tmp_path):
    d = load_csv(write(tmp_path, IRIS_LIKE, "flowers.csv"))
    assert d.name == "flowers" and d.source.endswith("flowers.csv")
    assert d.task == "classification"
    assert d.feature_names == ("sepal", "petal")
    assert d.class_names == ("setosa", "versicolor", "virginica")
    assert np.array_equal(d.y_train, [0, 0, 1, 1, 2, 2])
    assert d.X_train.shape == (6, 2) and d.X_train[2, 1] == 4.5
    assert d.X_test.shape == (0, 2) and d.y_test.shape == (0,)
    assert d.params["label"] == "species" and d.params["task"] == "classification"


def test_class_names_are_sorted(tmp_path):
    d = load_csv(write(tmp_path, "x,y\n1,b\n2,c\n3,a\n4,b\n"))
    assert d.class_names == ("a", "b", "c")
    assert np.array_equal(d.y_train, [1, 2, 0, 1])


def test_numeric_labels(tmp_path):
    d = load_csv(write(tmp_path, "x1,x2,y\n0,1,2\n1,0,0\n1,1,1\n0,0,10\n2,2,1.0\n"))
    assert d.task == "classification"
    assert d.class_names == ("0", "1", "2", "10")      # by value, "1.0" is class "1"
    assert np.array_equal(d.y_train, [2, 0, 1, 3, 1])


def test_label_column_in_the_middle(tmp_path):
    d = load_csv(write(tmp_path, "a,kind,b\n1,x,10\n2,y,20\n3,x,30\n4,y,40\n"), label="kind")
    assert d.feature_names == ("a", "b")
    assert np.array_equal(d.X_train, [[1, 10], [2, 20], [3, 30], [4, 40]])
    assert d.class_names == ("x", "y")


def test_regression(tmp_path):
    d = load_csv(write(tmp_path, "x,t\n0,0.5\n1,1.5\n2,2.25\n3,-1\n"))
    assert d.task == "regression"
    assert d.y_train.shape == (4, 1) and d.y_train[2, 0] == 2.25
    assert d.target_names == ("t",) and d.class_names == ()
    assert d.n_outputs == 1


def test_many_whole_numbers_are_a_regression(tmp_path):
    rows = "".join(f"{i},{i * 3}\n" for i in range(25))
    assert load_csv(write(tmp_path, "x,t\n" + rows)).task == "regression"


def test_forcing_the_task(tmp_path):
    path = write(tmp_path, "x,t\n0,0.5\n1,1.5\n2,0.5\n3,1.5\n")
    d = load_csv(path, task="classification")
    assert d.class_names == ("0.5", "1.5") and np.array_equal(d.y_train, [0, 1, 0, 1])
    d = load_csv(write(tmp_path, "x,t\n0,0\n1,1\n2,0\n3,1\n"), task="regression")
    assert d.task == "regression" and d.y_train.dtype == float


def test_standardize(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.randn(50, 3) * [1, 10, 0] + [5, -3, 7]       # the last column is constant
    rows = "".join(f"{a},{b},{c},{i % 2}\n" for i, (a, b, c) in enumerate(X))
    d = load_csv(write(tmp_path, "a,b,c,y\n" + rows), standardize=True, test_fraction=0.2)
    assert np.allclose(d.X_train.mean(axis=0), 0)
    assert np.allclose(d.X_train.std(axis=0), [1, 1, 0])
    assert np.all(d.X_test[:, 2] == 0)
    raw = load_csv(write(tmp_path, "a,b,c,y\n" + rows), test_fraction=0.2)
    mean, std = raw.X_train[:, :2].mean(axis=0), raw.X_train[:, :2].std(axis=0)
    assert np.allclose(d.X_test[:, :2], (raw.X_test[:, :2] - mean) / std)


def test_test_fraction_and_seed(tmp_path):
    rows = "".join(f"{i},{i % 2}\n" for i in range(20))
    path = write(tmp_path, "x,y\n" + rows)
    d = load_csv(path, test_fraction=0.25, seed=3)
    assert len(d.X_train) == 15 and len(d.X_test) == 5
    train, test = split_indices(20, 0.25, 3)
    assert np.array_equal(d.X_test[:, 0], test) and np.array_equal(d.X_train[:, 0], train)
    assert np.array_equal(load_csv(path, test_fraction=0.25, seed=3).X_test, d.X_test)
    assert not np.array_equal(load_csv(path, test_fraction=0.25, seed=4).X_test, d.X_test)
    assert np.array_equal(np.sort(d.X_all[:, 0]), np.arange(20))


def test_bom_crlf_whitespace_and_blank_lines(tmp_path):
    text = "\ufeff sepal , petal ,species\r\n\r\n" + IRIS_LIKE.split("\n", 1)[1].replace(
        ",", " , ").replace("\n", "\r\n") + "\r\n\r\n  \r\n"
    d = load_csv(write(tmp_path, text))
    assert d.feature_names == ("sepal", "petal")
    assert d.class_names == ("setosa", "versicolor", "virginica")
    assert len(d.X_train) == 6


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_other_delimiters(tmp_path, delimiter):
    d = load_csv(write(tmp_path, IRIS_LIKE.replace(",", delimiter)))
    assert d.feature_names == ("sepal", "petal") and len(d.X_train) == 6


def test_quoted_cells(tmp_path):
    d = load_csv(write(tmp_path, '"x","the label"\n"1","a, b"\n2,c\n3,"a, b"\n4,c\n'))
    assert d.class_names == ("a, b", "c") and d.feature_names == ("x",)


def test_rows_of_empty_cells_are_skipped(tmp_path):
    d = load_csv(write(tmp_path, IRIS_LIKE + ",,\n ,  ,\n"))
    assert len(d.X_train) == 6


def test_the_shipped_iris_file():
    from bpviz.engine.datasets import RESOURCES_DIR
    d = load_csv(RESOURCES_DIR / "iris.csv")
    assert d.X_train.shape == (150, 4) and np.array_equal(np.bincount(d.y_train), [50] * 3)


def test_large_file_loads(tmp_path):
    rows = "".join(f"{i * 0.5},{-i},{i % 3}\n" for i in range(20000))
    d = load_csv(write(tmp_path, "a,b,y\n" + rows))
    assert d.X_train.shape == (20000, 2) and d.X_train[-1, 0] == 9999.5


# --- files that are refused -----------------------------------------------------------------------

def test_missing_file(tmp_path):
    message = refused(tmp_path / "nowhere.csv", "nowhere.csv", "no such file")
    assert "line" not in message


def test_folder(tmp_path):
    refused(tmp_path, "not a regular file")


def test_unreadable_file(tmp_path, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(csvdata, "open", denied, raising=False)    # chmod does not stop root
    refused(write(tmp_path, IRIS_LIKE), "cannot read the file (Permission denied)")


def test_impossible_path(tmp_path):
    refused(tmp_path / "a\x00b.csv", "no such file")


def test_nul_bytes(tmp_path):
    refused(write(tmp_path, b"x,y\n1,2\n3,\x00\x01\n"), "line 3", "NUL bytes")


def test_binary_control_characters(tmp_path):
    refused(write(tmp_path, b"x,y\n1,2\x07\n"), "line 2", "control character 0x07")


def test_not_utf8(tmp_path):
    refused(write(tmp_path, "x,y\n1,caf\u00e9\n".encode("latin-1")), "line 2", "not UTF-8",
            "0xe9")


def test_utf16(tmp_path):
    refused(write(tmp_path, IRIS_LIKE.encode("utf-16")), "UTF-16")


@pytest.mark.parametrize("content", ["", "\n\n  \n", "\ufeff"])
def test_empty_file(tmp_path, content):
    assert refused(write(tmp_path, content), "the file is empty") == \
        f"{tmp_path / 'data.csv'}: the file is empty"


def test_no_text_in_any_cell(tmp_path):
    refused(write(tmp_path, ",,\n , ,\n"), "no text in any cell")


def test_header_only(tmp_path):
    refused(write(tmp_path, "x,y,label\n\n"), "header but no data rows")


def test_too_few_rows(tmp_path):
    refused(write(tmp_path, "x,label\n1,a\n2,b\n"), "only 2 data rows", f"at least {MIN_ROWS}")


def test_ragged_row(tmp_path):
    text = "x,y,label\n1,2,a\n\n3,4,b\n5,c\n6,7,d\n"
    message = refused(write(tmp_path, text), "line 5", "expected 3 columns", "found 2")
    assert "column 3" not in message


def test_ragged_row_with_crlf_and_quoted_newline(tmp_path):
    text = 'x,label\r\n1,"a\r\nb"\r\n2,b\r\n3,b,extra\r\n'
    refused(write(tmp_path, text), "line 5", "expected 2 columns", "found 3")


def test_non_numeric_feature(tmp_path):
    text = "x,size,label\n1,2,a\n3,4,b\n5,abc,a\n"
    message = refused(write(tmp_path, text), "line 4, column 2 ('size')", "not a number: 'abc'")
    assert message == f"{tmp_path / 'data.csv'}: line 4, column 2 ('size'): not a number: 'abc'"


def test_decimal_comma_hint(tmp_path):
    refused(write(tmp_path, "x;y;label\n1,5;2;a\n"), "line 2, column 1 ('x')", "'1,5'",
            "decimal point")


def test_missing_feature_value(tmp_path):
    refused(write(tmp_path, "x,y,label\n1,2,a\n3, ,b\n"), "line 3, column 2 ('y')",
            "missing value")


def test_missing_label(tmp_path):
    refused(write(tmp_path, "x,y,label\n1,2,a\n3,4,\n"), "line 3, column 3 ('label')",
            "missing value")


@pytest.mark.parametrize("cell, problem", [
    ("inf", "infinity is not allowed: 'inf'"),
    ("-Infinity", "infinity is not allowed: '-Infinity'"),
    ("nan", "NaN is not allowed: 'nan'"),
    ("1e999", "number too large: '1e999' overflows to infinity"),
])
def test_non_finite_feature(tmp_path, cell, problem):
    refused(write(tmp_path, f"x,y,label\n1,2,a\n3,{cell},b\n"), "line 3, column 2 ('y')", problem)


def test_non_finite_numeric_label(tmp_path):
    refused(write(tmp_path, "x,t\n1,0.5\n2,1.5\n3,NaN\n4,2\n"), "line 4, column 2 ('t')",
            "NaN is not allowed")


def test_label_column_absent(tmp_path):
    message = refused(write(tmp_path, IRIS_LIKE), "line 1", "no column named 'kind'",
                      "sepal, petal, species", label="kind")
    assert "column 1" not in message


def test_duplicate_header_names(tmp_path):
    refused(write(tmp_path, "a,b,a,label\n1,2,3,x\n"), "line 1, column 3 ('a')",
            "duplicate column name", "column 1")


def test_unnamed_column(tmp_path):
    refused(write(tmp_path, ",a,label\n0,1,x\n"), "line 1, column 1", "no name")


def test_header_that_is_data(tmp_path):
    refused(write(tmp_path, "1,2,0\n3,4,1\n"), "line 1", "header row")


def test_single_class(tmp_path):
    message = refused(write(tmp_path, "x,kind\n1,a\n2,a\n3,a\n4,a\n"), "column 2 ('kind')",
                      "same label 'a'", "at least two classes")
    assert "line" not in message


def test_too_many_classes(tmp_path):
    rows = "".join(f"{i},c{i}\n" for i in range(100))
    refused(write(tmp_path, "x,kind\n" + rows), "column 2 ('kind')", "more than 64")


def test_text_label_for_regression(tmp_path):
    refused(write(tmp_path, "x,t\n1,2\n2,3\n3,four\n4,5\n"), "line 4, column 2 ('t')",
            "not a number: 'four'", "regression", task="regression")


def test_too_many_features(tmp_path):
    n = MAX_FEATURES + 1
    header = ",".join(f"f{i}" for i in range(n)) + ",label\n"
    row = ",".join("0" for _ in range(n)) + ",a\n"
    refused(write(tmp_path, header + row * 4), "line 1", f"{n} feature columns",
            f"the {MAX_FEATURES}")


def test_no_feature_column(tmp_path):
    refused(write(tmp_path, "label\na\nb\na\nb\n"), "line 1", "only one column ('label')",
            "feature column")


def test_file_too_large(tmp_path):
    path = write(tmp_path, IRIS_LIKE)
    size = path.stat().st_size
    refused(path, f"{size:,} bytes", "limit of 100 bytes", max_bytes=100)


def test_unclosed_quote(tmp_path):
    refused(write(tmp_path, 'x,label\n1,a\n2,"b\n3,a\n4,b\n'), "line 3", "not valid CSV")


def test_values_too_large_to_standardise(tmp_path):
    refused(write(tmp_path, "x,big,label\n1,1e308,a\n2,-1e308,b\n3,1e308,a\n4,-1e308,b\n"),
            "column 2 ('big')", "too large to standardise", standardize=True)


def test_long_cells_are_shortened_in_messages(tmp_path):
    message = refused(write(tmp_path, "x,label\n" + "z" * 5000 + ",a\n"), "line 2",
                      "not a number")
    assert len(message) < 200 + len(str(tmp_path))


@pytest.mark.parametrize("kwargs", [{"task": "cluster"}, {"test_fraction": 1.0}, {"seed": -1}])
def test_bad_arguments(tmp_path, kwargs):
    with pytest.raises(ConfigError):
        load_csv(write(tmp_path, IRIS_LIKE), **kwargs)


# --- any input loads or raises DataError ----------------------------------------------------------

PRINTABLE = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=6)
NUMBERS = st.one_of(st.integers(-5, 5).map(str), st.floats(-1e6, 1e6).map(repr))
ODD_CELLS = st.one_of(
    st.sampled_from(["1e999", "inf", "-inf", "nan", "", " ", "a", "b", "x y", '"', '"q"', "1,5",
                     "0x1", "1_0", "\ufeff", "é", ";", "\t", "1e308", "-1e308"]),
    PRINTABLE,
)
NAMES = st.sampled_from(["a", "b", "c", "d", "x y", "t"])
LABELS = st.sampled_from(["a", "b", "c", "0", "1", "2", "0.5"])


@st.composite
def tables(draw):
    """CSV text with a header, rows of numbers and a label column; half of them with faults."""
    faulty = draw(st.booleans())
    cells, labels = (NUMBERS | ODD_CELLS, LABELS | ODD_CELLS) if faulty else (NUMBERS, LABELS)
    names = NAMES | PRINTABLE | st.just("") | st.just("1") if faulty else NAMES
    n_columns = draw(st.integers(1, 5) if faulty else st.integers(2, 5))
    header = draw(st.lists(names, min_size=n_columns, max_size=n_columns, unique=not faulty))
    widths = st.sampled_from([n_columns, n_columns, n_columns - 1, n_columns + 1]) if faulty \
        else st.just(n_columns)
    rows = [header]
    for _ in range(draw(st.integers(0, 12) if faulty else st.integers(4, 12))):
        n_features = max(draw(widths) - 1, 0)
        rows.append(draw(st.lists(cells, min_size=n_features, max_size=n_features))
                    + [draw(labels)])
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return newline.join(delimiter.join(row) for row in rows) + draw(st.sampled_from(["", "\n"]))


HYPOTHESIS = settings(max_examples=200, deadline=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture])


def _loads_or_data_error(path, **kwargs):
    try:
        d = load_csv(path, **kwargs)
    except DataError as e:
        assert str(e).startswith(f"{path}: ")
        return
    assert len(d.X_train) >= 1 and np.isfinite(d.X_all).all()
    assert d.X_train.shape[1] == len(d.feature_names) >= 1


@HYPOTHESIS
@given(content=st.binary(max_size=300))
def test_any_bytes_load_or_raise_data_error(tmp_path, content):
    _loads_or_data_error(write(tmp_path, content))


@HYPOTHESIS
@given(content=st.text(max_size=300))
def test_any_text_loads_or_raises_data_error(tmp_path, content):
    _loads_or_data_error(write(tmp_path, content))


@HYPOTHESIS
@given(content=tables(), label=st.sampled_from([None, None, "a", "x y"]),
       task=st.sampled_from(["auto", "classification", "regression"]), standardize=st.booleans(),
       test_fraction=st.sampled_from([0.0, 0.5, 0.9]))
def test_any_table_loads_or_raises_data_error(tmp_path, content, label, task, standardize,
                                              test_fraction):
    _loads_or_data_error(write(tmp_path, content), label=label, task=task,
                         standardize=standardize, test_fraction=test_fraction)
