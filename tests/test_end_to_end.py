"""The end-to-end check (properties/test_end_to_end.py) and its data (harness/grade/datasets.py).

- The CIFAR-10 loader, on a small folder in the standard "python version" format that
  the test writes itself (never a download).
- The digits made CIFAR-shaped (needs scikit-learn: requirements-e2e.txt).
- The harness run with the check on: the shipped implementation passes with its notes and
  plot; a grid that cannot train (tests/zoo/e2e/) fails with its search function blamed;
  training that cannot work is blamed on the class, or only noted when a unit property
  already blames it (one mistake, one blame). About 2 CPU-minutes in all.
"""
import pickle
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.grade import datasets, e2e
from tests.harness_run import ROOT, assert_report_shape, verify

E2E_ZOO = sorted((ROOT / "tests" / "zoo" / "e2e").glob("*.py"))
SHIPPED = ROOT / "implementations" / "linear_classifier.py"


# ---------------------------------------------------------------- the CIFAR-10 loader

def write_batch(path: Path, images: np.ndarray, labels, name: bytes):
    """One batch as the CIFAR-10 python version stores it (a pickled dict, bytes keys)."""
    batch = {b"batch_label": name, b"labels": list(labels), b"data": images,
             b"filenames": [b"img_%d.png" % i for i in range(len(labels))]}
    with open(path, "wb") as f:
        pickle.dump(batch, f, protocol=2)


@pytest.fixture(scope="module")
def fake_cifar(tmp_path_factory):
    """5 training batches of 4 images and a test batch of 3; pixel values random."""
    folder = tmp_path_factory.mktemp("cifar-10-batches-py")
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, size=(20, 3072), dtype=np.uint8)
    train[0, :1024], train[0, 1024:2048], train[0, 2048:] = 255, 0, 128  # image 0: R, G, B planes
    labels = [i % 10 for i in range(20)]
    for b in range(5):
        write_batch(folder / f"data_batch_{b + 1}", train[4 * b:4 * b + 4], labels[4 * b:4 * b + 4],
                    b"training batch %d of 5" % (b + 1))
    test = rng.integers(0, 256, size=(3, 3072), dtype=np.uint8)
    write_batch(folder / "test_batch", test, [7, 8, 9], b"testing batch 1 of 1")
    return folder, train, labels, test


def test_cifar_loader_course_split_and_preprocessing(fake_cifar):
    folder, raw, labels, test = fake_cifar
    data = datasets.cifar10(folder)
    # The course's split: the last 20 % of the training images are the validation set.
    assert data["X_train"].shape == (16, 3073) and data["X_val"].shape == (4, 3073)
    assert data["X_test"].shape == (3, 3073)
    assert data["y_train"].tolist() == labels[:16] and data["y_val"].tolist() == labels[16:]
    assert data["y_test"].tolist() == [7, 8, 9] and data["y_train"].dtype == torch.int64
    for key in ("X_train", "X_val", "X_test"):
        assert data[key].dtype == torch.float64
        assert torch.equal(data[key][:, -1], torch.ones(len(data[key]), dtype=torch.float64))
    # Scaled to [0, 1], minus the mean RGB of all 20 training images (validation included).
    scaled = torch.from_numpy(raw.astype(np.float64) / 255.0).reshape(20, 3, 1024)
    mean_rgb = scaled.mean(dim=(0, 2))
    want = (scaled - mean_rgb[None, :, None]).reshape(20, 3072)
    X = torch.cat([data["X_train"], data["X_val"]])[:, :-1]
    assert torch.allclose(X, want, rtol=0, atol=1e-15)
    assert torch.allclose(X.reshape(20, 3, 1024).mean(dim=(0, 2)), torch.zeros(3, dtype=torch.float64),
                          atol=1e-15)
    # Channel-major rows, as the course's tensors flatten (N, 3, 32, 32): image 0's planes.
    assert torch.allclose(X[0, :1024] + mean_rgb[0], torch.ones(1024, dtype=torch.float64))
    assert torch.allclose(X[0, 1024:2048] + mean_rgb[1], torch.zeros(1024, dtype=torch.float64))
    test_want = torch.from_numpy(test.astype(np.float64) / 255.0).reshape(3, 3, 1024) - mean_rgb[None, :, None]
    assert torch.allclose(data["X_test"][:, :-1], test_want.reshape(3, 3072), rtol=0, atol=1e-15)


def test_cifar_loader_names_what_is_missing(fake_cifar, tmp_path):
    folder, *_ = fake_cifar
    (tmp_path / "data_batch_1").write_bytes((folder / "data_batch_1").read_bytes())
    with pytest.raises(datasets.DataUnavailable, match="data_batch_2, .*test_batch"):
        datasets.cifar10(tmp_path)
    for name in datasets.CIFAR_FILES[1:]:
        (tmp_path / name).write_bytes(b"not a pickle")
    with pytest.raises(datasets.DataUnavailable, match="data_batch_2 is not a CIFAR-10 python batch"):
        datasets.cifar10(tmp_path)


@pytest.mark.slow
def test_cifar_option_loads_the_folder(fake_cifar, tmp_path):
    """--cifar DIR: the check on that folder, at the course's 2000 iterations and targets
    (collected only: training on it is the course's own run, minutes per submission)."""
    folder, *_ = fake_cifar
    run = verify(SHIPPED, tmp_path / "r.json", "--collect-only", "-v", "--cifar", str(folder))
    assert f"end to end: CIFAR-10 ({folder}), 2000 iterations" in run.output, run.output[-3000:]
    assert "'LinearSVM': 0.37, 'Softmax': 0.36" in run.output
    assert "test_grid_trains[LinearSVM]" in run.output
    missing = verify(SHIPPED, tmp_path / "m.json", "--collect-only", "--cifar", str(tmp_path / "nowhere"))
    assert missing.returncode == 2, missing.output[-2000:]
    assert "harness: cannot verify: the end-to-end check: " in missing.output


# ---------------------------------------------------------------- the digits

def test_digits_are_cifar_shaped():
    pytest.importorskip("sklearn", reason="the digits need scikit-learn: pip install -r requirements-e2e.txt")
    data = datasets.digits()
    assert data["X_train"].shape == (1200, 3073) and data["X_val"].shape == (300, 3073)
    assert data["X_test"].shape == (297, 3073) and data["X_train"].dtype == torch.float64
    X = torch.cat([data["X_train"], data["X_val"]])
    assert torch.equal(X[:, -1], torch.ones(1500, dtype=torch.float64))
    planes = X[:, :-1].reshape(1500, 3, 1024)
    assert torch.equal(planes[:, 0], planes[:, 1]) and torch.equal(planes[:, 0], planes[:, 2])
    assert planes.mean(dim=(0, 2)).abs().max() < 1e-12          # the mean RGB is subtracted
    assert 0.99 < (planes.max() - planes.min()).item() <= 1.0   # from pixels scaled to [0, 1]
    assert sorted(set(data["y_train"].tolist())) == list(range(10))
    assert torch.equal(datasets.digits()["X_val"], data["X_val"])        # a fixed seed
    assert not torch.equal(datasets.digits(seed=1)["y_val"], data["y_val"])


# ---------------------------------------------------------------- the harness run

def broken_training(tmp_path) -> Path:
    """The shipped file with a training loop that never runs: W stays its random start."""
    source = SHIPPED.read_text()
    assert source.count("for it in range(num_iters):") == 1
    path = tmp_path / "training_never_runs.py"
    path.write_text(source.replace("for it in range(num_iters):", "for it in range(0):"))
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    pytest.importorskip("sklearn", reason="the end-to-end check needs requirements-e2e.txt")
    out = tmp_path_factory.mktemp("e2e")
    broken = broken_training(out)
    jobs = {"shipped": (SHIPPED, "-m", "e2e"),
            "broken alone": (broken, "-m", "e2e"),
            "broken in full": (broken, "--e2e")}
    jobs.update({path.stem: (path, "-m", "e2e") for path in E2E_ZOO})

    def run(item):
        key, (impl, *args) = item
        return key, verify(impl, out / f"{key.replace(' ', '_')}.json", *args), out

    with ThreadPoolExecutor(max_workers=2) as pool:
        return {key: (r, folder) for key, r, folder in pool.map(run, jobs.items())}


def statuses(report):
    return {n: f["status"] for n, f in report["functions"].items()}


@pytest.mark.slow
def test_shipped_passes_with_notes_and_plot(runs):
    run, folder = runs["shipped"]
    assert_report_shape(run.report)
    for classifier in e2e.CLASSIFIERS:
        assert statuses(run.report)[classifier] == "pass", run.output[-3000:]
        notes = " ".join(run.report["functions"][classifier]["messages"])
        got = re.search(r"validation accuracy ([0-9.]+) >= threshold ([0-9.]+)", notes)
        assert got and float(got[1]) >= float(got[2]), notes
    assert re.search(r"=+ end to end =+\nLinearSVM: best of 16 \(lr, reg\) = .*\nSoftmax: best of 16",
                     run.output), run.output[-3000:]
    plot = folder / "shipped.e2e.png"
    try:
        import matplotlib  # noqa: F401
        assert plot.stat().st_size > 10_000, run.output[-2000:]
    except ImportError:
        assert "matplotlib is not installed" in run.output


@pytest.mark.slow
@pytest.mark.parametrize("path", E2E_ZOO, ids=[p.stem for p in E2E_ZOO])
def test_grid_that_cannot_train_blames_search(runs, path):
    run, _ = runs[path.stem]
    blamed = path.read_text().splitlines()[0].split("blames", 1)[1].strip()
    assert run.returncode == 1 and statuses(run.report)[blamed] == "fail", run.output[-3000:]
    message = run.report["functions"][blamed]["messages"][0]
    assert "the grid cannot train" in message and "the same training" in message
    # The other classifier trains: its grid is not blamed, its class passes with its note.
    other = next(c for c, search in e2e.CLASSIFIERS.items() if search != blamed)
    assert statuses(run.report)[other] == "pass", run.report["functions"][other]
    assert "validation accuracy" in " ".join(run.report["functions"][other]["messages"])
    assert "cannot train" not in " ".join(run.report["functions"][e2e.CLASSIFIERS[other]]["messages"])


@pytest.mark.slow
def test_training_that_cannot_work_blames_the_class(runs):
    """Alone (-m e2e, no unit property ran): the classes are blamed, the grids are not."""
    run, _ = runs["broken alone"]
    got = statuses(run.report)
    assert got["LinearSVM"] == "fail" and got["Softmax"] == "fail", run.output[-3000:]
    assert got["svm_get_search_params"] == "fail" and got["softmax_get_search_params"] == "fail"
    assert "not judged" in run.report["functions"]["svm_get_search_params"]["messages"][0]
    assert "does not train on real images" in run.report["functions"]["LinearSVM"]["messages"][0]


@pytest.mark.slow
def test_one_mistake_one_blame(runs):
    """In a full run the unit properties blame the training; the end-to-end check only notes it."""
    run, _ = runs["broken in full"]
    got = statuses(run.report)
    assert got["train_linear_classifier"] == "fail", run.output[-3000:]
    for name in ("LinearSVM", "Softmax", "svm_get_search_params", "softmax_get_search_params"):
        assert got[name] == "pass", (name, run.report["functions"][name])
    notes = " ".join(run.report["functions"]["LinearSVM"]["messages"])
    assert "not blamed again: " in notes and "train_linear_classifier" in notes


def test_default_run_leaves_the_check_out(tmp_path):
    run = verify(SHIPPED, tmp_path / "r.json", "--collect-only")
    assert "test_grid_trains" not in run.output and "deselected" in run.output, run.output[-2000:]


# ---------------------------------------------------------------- where it is on by default

class _Config:
    def __init__(self, **options):
        self.options = options

    def getoption(self, name, default=None):
        return self.options.get(name, default)


def test_batch_passes_the_check_on_by_default(monkeypatch, tmp_path):
    from harness.grade import batch
    monkeypatch.delenv(e2e.OFF_ENV, raising=False)
    args, note = e2e.batch_args(_Config())
    try:
        import sklearn  # noqa: F401
        assert args == ["--e2e"] and note is None
    except ImportError:
        assert args == [] and "requirements-e2e.txt" in note
    monkeypatch.setenv(e2e.OFF_ENV, "0")
    assert e2e.batch_args(_Config()) == ([], f"note: the end-to-end check is off ({e2e.OFF_ENV}=0)")
    assert e2e.batch_args(_Config(e2e=True))[0] == ["--e2e"]
    assert e2e.batch_args(_Config(cifar=str(tmp_path)))[0] == ["--cifar", str(tmp_path.resolve())]
    cmd = batch.child_command(Path("/x/a.py"), Path("/r/a.json"), extra=["--e2e", "--e2e-plot", "/r/a.e2e.png"])
    assert cmd[-3:] == ["--e2e", "--e2e-plot", "/r/a.e2e.png"]


def test_gradescope_passes_the_check_on_by_default(tmp_path):
    """run_autograder's command line, seen by a stand-in Python that records it."""
    import os
    import subprocess
    fake = tmp_path / "python"
    fake.write_text(f'#!/usr/bin/env bash\necho "$@" >> {tmp_path}/args\n')
    fake.chmod(0o755)
    (tmp_path / "source").mkdir()
    script = ROOT / "integrations" / "gradescope" / "run_autograder"
    cifar = tmp_path / "cifar-10-batches-py"
    for setting, want in ((None, "--e2e"), ("0", None), ("1", "--e2e"), ("cifar", f"--cifar {cifar}")):
        env = dict(os.environ, AUTOGRADER_ROOT=str(tmp_path), HARNESS_PYTHON=str(fake))
        env.pop(e2e.OFF_ENV, None)
        if setting == "cifar":
            cifar.mkdir()  # the folder where setup.sh puts CIFAR-10, when a course provides it
        elif setting is not None:
            env[e2e.OFF_ENV] = setting
        subprocess.run(["bash", str(script)], env=env, capture_output=True, timeout=60, check=True)
        line = (tmp_path / "args").read_text().splitlines()[0]
        (tmp_path / "args").unlink()
        assert line.startswith("-m pytest properties"), line
        if want is None:
            assert "--e2e" not in line.split() and "--cifar" not in line.split(), line
        else:
            assert f" {want} " in f" {line} " and line.count("--e2e") + line.count("--cifar") == 1, line


def test_kept_data_arrives_whole_and_is_not_sent_back():
    """Subject.keep: a tensor over the 64 MiB block size is filled in place in the worker, and
    a kept dict passed to a call comes back (as the argument after the call) as its reference."""
    from harness.confine import worker, wire
    from harness.confine.worker import WorkerSubject
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(worker.KEEP_BLOCK // (8 * 3073) + 5, 3073, dtype=torch.float64, generator=gen)
    W = torch.randn(3073, 10, dtype=torch.float64, generator=gen)
    subject = WorkerSubject(None)
    try:
        X_ref = subject.keep(X)
        assert isinstance(X_ref, wire.Ref)
        labels = subject.call("predict_linear_classifier", W, X_ref)
        assert torch.equal(labels, (X @ W).argmax(dim=1))
        data = subject.keep({"X_train": X[:50], "y_train": torch.arange(50) % 10, "X_val": X[50:60],
                             "y_val": torch.arange(10)})
        subject.call("test_one_param_set", subject.new("LinearSVM"), data, 1e-3, 1e-3, 1)
        assert len(str(subject.last_reply["args_after"])) < 1000, str(subject.last_reply["args_after"])[:300]
    finally:
        subject.close()
