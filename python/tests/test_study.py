"""run_study: an experiment's study from Python with the binary's semantics
and the binary's bits."""

import json
import subprocess

import pytest

import gengap


def run_binary(bin_dir, name, config_file, out, figures):
    return subprocess.run(
        [str(bin_dir / name), "--config", str(config_file), "--out", str(out), "--figures", str(figures)],
        capture_output=True,
        text=True,
    )


def test_run_study_gives_the_binarys_files_bit_for_bit(tmp_path, bin_dir):
    text = gengap.study_config("adam-vs-gd", quick=True)
    cfg = tmp_path / "quick.toml"
    cfg.write_text(text)
    done = run_binary(bin_dir, "adam-vs-gd", cfg, tmp_path / "bin", tmp_path / "bin-figures")
    assert done.returncode == 0, done.stderr
    result = gengap.run_study(
        "adam-vs-gd", text, out=tmp_path / "py", figures=tmp_path / "py-figures", config_path=cfg
    )
    for csv in ["curves.csv", "lambda_sweep.csv"]:
        assert (tmp_path / "py/adam-vs-gd" / csv).read_bytes() == (tmp_path / "bin/adam-vs-gd" / csv).read_bytes(), csv
    record = json.loads((tmp_path / "py/adam-vs-gd/record.json").read_text())
    binary = json.loads((tmp_path / "bin/adam-vs-gd/record.json").read_text())
    assert record["results"] == binary["results"] == json.loads(json.dumps(result["summary"]))
    assert record["provenance"]["blas"]["kernel"] == binary["provenance"]["blas"]["kernel"]
    # One row per cell: the two main runs, then GD and Adam at each lambda.
    rows = result["rows"]
    assert len(rows) == 2 + 2 * 2
    assert [r["which"] for r in rows[:2]] == ["GD", "Adam"] and rows[0]["lambda"] is None
    assert {"status", "steps", "records"} <= set(rows[0])


def test_a_dict_config_and_a_second_call_reuse_the_journal(tmp_path):
    import tomllib

    config = tomllib.loads(gengap.study_config("adam-vs-gd", quick=True))
    config["lambda_sweep"]["lambdas"] = [0.0]
    first = gengap.run_study("adam-vs-gd", config, out=tmp_path, figures=tmp_path / "figures")
    journals = list((tmp_path / "adam-vs-gd/journal").glob("*.jsonl"))
    assert len(journals) == 1
    again = gengap.run_study("adam-vs-gd", config, out=tmp_path, figures=tmp_path / "figures")
    assert again["rows"] == first["rows"]
    assert len(first["rows"]) == 4


def test_a_bad_config_is_the_binarys_error_line_and_writes_nothing(tmp_path, bin_dir):
    text = gengap.study_config("adam-vs-gd", quick=True).replace("lr = 0.5", "lr = -0.5")
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    done = run_binary(bin_dir, "adam-vs-gd", cfg, tmp_path / "bin", tmp_path / "figures")
    assert done.returncode == 1
    line = done.stderr.strip()
    with pytest.raises(ValueError) as err:
        gengap.run_study("adam-vs-gd", text, out=tmp_path / "py", figures=tmp_path / "figures", config_path=cfg)
    assert str(err.value) == line
    assert "`lr` = -0.5" in line
    assert not (tmp_path / "py").exists()


def test_unknown_study_and_bad_shard():
    with pytest.raises(ValueError, match="unknown study `adam-vs-sgd`"):
        gengap.run_study("adam-vs-sgd", "")
    with pytest.raises(ValueError, match="0 <= k < N"):
        gengap.run_study("phase-transition", gengap.study_config("phase-transition", quick=True), shard="3/3")
    assert "phase-transition" in gengap.studies()


def test_every_experiment_is_a_study():
    """A new experiment under experiments/ must be reachable from Python."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "experiments"
    on_disk = sorted(p.name for p in root.iterdir() if (p / "Cargo.toml").is_file())
    assert sorted(gengap.studies()) == on_disk


def test_npz_arrays_load_back_as_the_runs_arrays(tmp_path):
    import tomllib

    import numpy as np

    text = gengap.study_config("adam-vs-gd", quick=True) + "\n[output]\narrays = true\n"
    gengap.run_study("adam-vs-gd", text, out=tmp_path, figures=tmp_path / "figures")
    arrays = tmp_path / "adam-vs-gd/arrays"
    cfg = tomllib.loads(text)
    data = np.load(arrays / "data.npz")
    w0 = data["W0"]
    m, d = cfg["model"]["m"], cfg["data"]["d"]
    assert w0.shape == (2 * m, d)
    assert data["train_x"].shape == (cfg["data"]["n"], 2, d)
    assert data["train_flipped"].dtype == np.bool_ and data["train_signal_patch"].dtype == np.int64
    # The same data set from Python: the setup stream is stream(seed, 2**64 - 1).
    ds = gengap.data.generate(cfg["data"], seed=cfg["seed"], stream=2**64 - 1)
    np.testing.assert_array_equal(ds.train["x"], data["train_x"])
    np.testing.assert_array_equal(ds.test["noise"], data["test_noise"])
    # Cell 0 is the GD main run: W and its decomposition, bit for bit.
    index = json.loads((arrays / "cells.json").read_text())
    assert index[0]["what"] == {"which": "GD", "lambda": None} and index[0]["file"] == "cell-00000.npz"
    cell = np.load(arrays / "cell-00000.npz")
    run = gengap.train(ds, cfg["gd"], model=cfg["model"], train=cfg["train"], w0=w0)
    np.testing.assert_array_equal(cell["W"], run["W"])
    dec = gengap.analysis.decompose(run["W"], w0, ds)
    for key in ["gamma", "rho_bar", "rho", "coef_w0"]:
        np.testing.assert_array_equal(cell[key], dec[key])
    assert len(list(arrays.glob("cell-*.npz"))) == 2 + 2 * 2


def test_label_noise_runs_from_python_and_rows_carry_every_mu(tmp_path):
    result = gengap.run_study(
        "label-noise", gengap.study_config("label-noise", quick=True), out=tmp_path, figures=tmp_path / "figures"
    )
    rows = result["rows"]
    # One row per (noise kind, d, seed): 2 x 4 x 2, each with the 6 values of ‖μ‖.
    assert len(rows) == 16 and all(len(r["runs"]) == 6 for r in rows)
    assert {b["noise"] for b in result["summary"]["boundaries"]} == {"orthogonal", "isotropic"}
    assert (tmp_path / "label-noise/orthogonal_kou_test_error.csv").is_file()


def test_rows_are_flat_with_the_cells_fields_first_and_figures_only_where_asked(tmp_path, monkeypatch):
    import tomllib

    monkeypatch.chdir(tmp_path)
    config = tomllib.loads(gengap.study_config("adam-vs-gd", quick=True))
    config["lambda_sweep"]["lambdas"] = [0.0]
    result = gengap.run_study("adam-vs-gd", config, out=tmp_path / "out")
    row = result["rows"][0]
    # The cell's fields in their declared order, then the row's.
    assert list(row)[:2] == ["which", "lambda"]
    assert list(row)[2:] == [k for k in row if k not in ("which", "lambda")]
    assert not any(isinstance(v, dict) for v in row.values()), "nested tables are flattened"
    assert isinstance(row["records"], list) and row["records"][0]["step"] == 0
    # No figures were asked for: none written, no docs/figures in the working directory.
    assert not (tmp_path / "docs").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    # Asked for: written there.
    gengap.run_study("adam-vs-gd", config, out=tmp_path / "out", figures=tmp_path / "figs")
    assert any((tmp_path / "figs").glob("*.png"))


def _interrupt_after(seconds):
    import os
    import signal
    import threading

    t = threading.Timer(seconds, lambda: os.kill(os.getpid(), signal.SIGINT))
    t.start()
    return t


def test_ctrl_c_stops_a_study_within_a_second_and_journals_no_interrupted_cell(tmp_path):
    import time
    import tomllib

    config = tomllib.loads(gengap.study_config("adam-vs-gd", quick=True))
    config["train"]["max_steps"] = 5_000_000  # minutes per cell without the check
    start = time.monotonic()
    timer = _interrupt_after(0.5)
    with pytest.raises(KeyboardInterrupt):
        gengap.run_study("adam-vs-gd", config, out=tmp_path)
    timer.join()
    assert time.monotonic() - start < 0.5 + 1.0, "Ctrl-C reaches the cells on the worker threads"
    for journal in (tmp_path / "adam-vs-gd/journal").glob("*.jsonl"):
        assert "nterrupt" not in journal.read_text(), "an interrupted cell is not a result"
    # Training goes on normally afterwards.
    z = gengap.data.z23(d=40, n=6, n_test=10, s=10, seed=1)
    assert gengap.train(z, {"name": "gd", "lr": 0.1}, steps=3)["steps"] == 3


def test_progress_lines_are_shown_by_default_and_hidden_on_request(tmp_path, capfd):
    import tomllib

    config = tomllib.loads(gengap.study_config("adam-vs-gd", quick=True))
    config["lambda_sweep"]["lambdas"] = [0.0]
    gengap.run_study("adam-vs-gd", config, out=tmp_path / "a")
    assert "cells," in capfd.readouterr().err
    gengap.run_study("adam-vs-gd", config, out=tmp_path / "b", progress=False)
    assert "cells," not in capfd.readouterr().err
