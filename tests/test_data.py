"""Data loading for the command line: CSV sniffing and headers, targets, labels, npz/npy, splits, scaling."""

import sys

import numpy as np
import pytest

import mlplab
from mlplab import data as D


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_csv_with_header_and_string_labels(tmp_path):
    path = write(tmp_path, "flowers.csv", "length,width,species\n1.0,2.0,setosa\n3,4,virginica\n5,6,setosa\n")
    t = D.load_file(path)
    np.testing.assert_array_equal(t.X, [[1, 2], [3, 4], [5, 6]])
    assert t.feature_names == ["length", "width"] and t.target_name == "species"
    assert list(t.y) == ["setosa", "virginica", "setosa"]
    classes, codes = D.encode_labels(t.y)
    assert classes == ["setosa", "virginica"] and codes.tolist() == [0, 1, 0]
    assert D.infer_task(t.y) == "classification"


def test_csv_without_header_semicolons_and_target_index(tmp_path):
    path = write(tmp_path, "d.csv", "1;10;0.5\n2;20;1.5\n3;30;2.5\n")
    t = D.load_file(path, target="0")
    assert t.target_name == "x1" and t.y.tolist() == [1, 2, 3]
    np.testing.assert_array_equal(t.X, [[10, 0.5], [20, 1.5], [30, 2.5]])
    assert D.load_file(path, target=-2).y.tolist() == [10, 20, 30]


def test_tsv_and_target_by_name(tmp_path):
    path = write(tmp_path, "d.tsv", "a\tb\ty\n1\t2\t0.25\n3\t4\t0.75\n")
    t = D.load_file(path, target="a")
    assert t.feature_names == ["b", "y"] and t.y.tolist() == [1, 3]


def test_header_detection_when_every_column_is_text_in_row_one(tmp_path):
    path = write(tmp_path, "d.csv", "x,y\n0,1\n1,0\n")
    assert D.load_file(path).feature_names == ["x"]


@pytest.mark.parametrize("text, target, match", [
    ("a,b,y\n1,2,0\n1,nan,1\n", None, r"column 2 \('b'\), row 2 contains nan"),
    ("a,b,y\n1,2,0\n1,2,1\n1,inf,0\n", None, r"column 2 \('b'\), row 3 contains inf"),
    ("a,b,y\n1,2,0\n1,two,1\n", None, r"column 2 \('b'\), row 2 holds 'two', which is not a number"),
    ("a,b,y\n1,,0\n1,2,1\n", None, r"row 1 is empty \(a missing value\)"),
    ("a,b,y\n1,2,0\n1,2\n", None, r"row 2 has 2 columns but the header has 3"),
    ("", None, r"is empty"),
    ("\n\n", None, r"is empty"),
    ("a,b,y\n", None, r"no data rows"),
    ("a,b,y\n1,2,0\n", "c", r"--target 'c' is not a column .* columns are: a, b, y"),
    ("1,2,0\n3,4,1\n", "5", r"--target 5 is out of range"),
    ("1,2,0\n3,4,1\n", "y", r"has no header row"),
    ("a,b,y\n1,2,\n1,2,1\n", None, r"target column 3 \('y'\), row 1 is empty"),
])
def test_csv_errors_name_the_place_and_the_fix(tmp_path, text, target, match):
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(D.DataError, match=match):
        D.load_file(path, target)


def test_training_checks(tmp_path):
    one = D.load_file(write(tmp_path, "one.csv", "a,y\n1,0\n"))
    with pytest.raises(D.DataError, match="only 1 sample"):
        D.check_training_table(one, "classification")
    single = D.load_file(write(tmp_path, "s.csv", "a,y\n1,cat\n2,cat\n"))
    with pytest.raises(D.DataError, match=r"single class \('cat'\)"):
        D.check_training_table(single, "classification")
    with pytest.raises(D.DataError, match="cannot be regressed"):
        D.check_training_table(single, "regression")


def test_file_kind_errors(tmp_path):
    with pytest.raises(D.DataError, match=r"unknown file extension '.xlsx'"):
        D.load_file(str(tmp_path / "data.xlsx"))
    with pytest.raises(D.DataError, match=r"does not exist"):
        D.load_file(str(tmp_path / "missing.csv"))


def test_npz_and_npy_pairs(tmp_path):
    X, y = np.arange(12.0).reshape(6, 2), np.array([0, 1, 0, 1, 0, 1])
    np.savez(tmp_path / "d.npz", X=X, y=y)
    t = D.load_file(str(tmp_path / "d.npz"))
    np.testing.assert_array_equal(t.X, X)
    np.testing.assert_array_equal(t.y, y)
    np.save(tmp_path / "X_train.npy", X)
    np.save(tmp_path / "y_train.npy", y)
    t = D.load_file(str(tmp_path / "X_train.npy"))  # sibling y_train.npy found
    np.testing.assert_array_equal(t.y, y)
    t = D.load_file(f"{tmp_path / 'X_train.npy'},{tmp_path / 'y_train.npy'}")
    np.testing.assert_array_equal(t.X, X)
    np.savez(tmp_path / "short.npz", X=X, y=y[:4])
    with pytest.raises(D.DataError, match="X has 6 rows but y has 4"):
        D.load_file(str(tmp_path / "short.npz"))
    np.savez(tmp_path / "nan.npz", X=np.where(X == 5, np.nan, X), y=y)
    with pytest.raises(D.DataError, match="column 2, row 3 contains nan"):
        D.load_file(str(tmp_path / "nan.npz"))
    np.savez(tmp_path / "inf.npz", X=np.where(X == 10, -np.inf, X), y=y)
    with pytest.raises(D.DataError, match="column 1, row 6 contains -inf"):
        D.load_file(str(tmp_path / "inf.npz"))
    huge = np.where(X == 5, 1e300, X)  # finite, though its square overflows: kept
    np.savez(tmp_path / "huge.npz", X=huge, y=y)
    np.testing.assert_array_equal(D.load_file(str(tmp_path / "huge.npz")).X, huge)
    np.savez(tmp_path / "noy.npz", X=X)
    with pytest.raises(D.DataError, match="no array 'y'"):
        D.load_file(str(tmp_path / "noy.npz"))
    assert D.load_file(str(tmp_path / "noy.npz"), require_target=False).y is None


def test_npz_with_object_arrays_is_refused_without_unpickling(tmp_path):
    np.savez(tmp_path / "obj.npz", X=np.array([[1.0, 2.0]]), y=np.array([{"a": 1}], dtype=object))
    with pytest.raises(D.DataError, match="without pickle"):
        D.load_file(str(tmp_path / "obj.npz"))


def test_split_is_seeded_disjoint_and_complete():
    tr, va, te = D.split_indices(50, 0.2, 0.1, seed=3)
    assert (len(tr), len(va), len(te)) == (35, 10, 5)
    assert sorted(np.concatenate([tr, va, te]).tolist()) == list(range(50))
    again = D.split_indices(50, 0.2, 0.1, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((tr, va, te), again))
    with pytest.raises(D.DataError, match="leave no training data"):
        D.split_indices(10, 0.5, 0.5, 0)
    with pytest.raises(D.DataError, match="too few"):
        D.split_indices(3, 0.1, 0.0, 0)


def test_scaler_uses_training_rows_only_and_round_trips():
    X = np.array([[0.0, 5.0], [2.0, 5.0], [100.0, 5.0]])
    s = D.StandardScaler.fit(X[:2])
    np.testing.assert_allclose(s.mean, [1.0, 5.0])
    np.testing.assert_allclose(s.scale, [1.0, 1.0])
    np.testing.assert_allclose(s.transform(X)[:, 0], [-1, 1, 99])
    back = D.StandardScaler.from_dict(s.to_dict())
    np.testing.assert_array_equal(back.transform(X), s.transform(X))


def test_codes_for_reports_unseen_labels():
    assert D.codes_for(np.array(["b", "a"], dtype=object), ["a", "b"], "f").tolist() == [1, 0]
    assert D.codes_for(np.array([1.0, 0.0]), [0, 1], "f").tolist() == [1, 0]
    assert D.codes_for(np.array(["1", "0"], dtype=object), [0, 1], "f").tolist() == [1, 0]
    with pytest.raises(D.DataError, match="row 2 has label 'c', which the model never saw"):
        D.codes_for(np.array(["a", "c"], dtype=object), ["a", "b"], "f")


@pytest.mark.parametrize("name", mlplab.datasets.names())
def test_builtin_sets_have_the_documented_shapes(name):
    X, y = mlplab.datasets.load(name)
    assert X.ndim == 2 and y.shape == (len(X),) and X.dtype == np.float64 and np.all(np.isfinite(X))
    task, _ = mlplab.datasets.INFO[name]
    assert (len(np.unique(y)) >= 2) and (task == "regression") == (D.infer_task(y) == "regression")


def test_synthetic_sets_take_options_and_are_reproducible():
    X1, y1 = mlplab.datasets.load("spirals", n_samples=50, noise=0.0, seed=1)
    X2, _ = mlplab.datasets.load("spirals", n_samples=50, noise=0.0, seed=1)
    assert X1.shape == (50, 2) and np.array_equal(X1, X2) and set(y1) == {0.0, 1.0}
    with pytest.raises(ValueError, match="takes no options"):
        mlplab.datasets.load("iris", n_samples=3)


def test_import_mlplab_does_not_import_sklearn_or_rich():
    import subprocess

    code = "import sys, mlplab, mlplab.data; print('sklearn' in sys.modules, 'rich' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_numeric_header_over_a_text_label_column_is_a_header(tmp_path):
    from mlplab import data as D

    rng = np.random.default_rng(0)
    rows = "\n".join(f"{a:.3f},{b:.3f},{'up' if a > 0 else 'down'}" for a, b in rng.normal(size=(20, 2)))
    path = tmp_path / "yearhdr.csv"
    path.write_text("1990,2000,label\n" + rows + "\n")
    table = D.load_file(str(path))
    assert table.X.shape == (20, 2) and table.target_name == "label" and set(table.y) == {"up", "down"}


def test_a_row_wider_than_the_limit_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(D.csv_files, "MAX_COLUMNS", 1000)  # read where the CSV reader checks it
    path = tmp_path / "wide.csv"
    path.write_text(",".join("1" for _ in range(1001)) + "\n" + ",".join("2" for _ in range(1001)) + "\n")
    with pytest.raises(D.DataError, match="more than 1,000 columns"):
        D.load_file(str(path))
    assert D.csv_header(str(path)) is None
    ok = tmp_path / "ok.csv"
    ok.write_text(",".join("1" for _ in range(1000)) + "\n" + ",".join("0" for _ in range(1000)) + "\n")
    assert D.load_file(str(ok)).X.shape == (2, 999)


def test_a_wide_file_is_read_in_time_linear_in_its_size(tmp_path):
    """20,000 columns: the exact reader (header detection) must not build a Series per column per row."""
    import time

    path = tmp_path / "w.csv"
    header = ",".join(f"f{j}" for j in range(20_000))
    path.write_text(header + ",y\n" + ",".join("1" for _ in range(20_000)) + ",a\n"
                    + ",".join("2" for _ in range(20_000)) + ",b\n")
    t0 = time.process_time()
    t = D.load_file(str(path))
    assert t.X.shape == (2, 20_000) and list(t.y) == ["a", "b"]
    assert time.process_time() - t0 < 60  # was ~10 s per read on 2 cores; CPU time, not wall: load-proof
