"""Shared fixtures: a small data set, and where the experiment binaries are
(`cargo xtask test` sets GENGAP_BIN_DIR to the folder it built them in)."""

import os
import pathlib

import pytest

import gengap

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def z23():
    return gengap.data.z23(d=60, n=12, n_test=80, s=20, seed=7)


@pytest.fixture(scope="session")
def bin_dir():
    """The folder of the experiment binaries (built by `cargo xtask test`)."""
    env = os.environ.get("GENGAP_BIN_DIR")
    candidates = [pathlib.Path(env)] if env else [REPO / "target" / "debug", REPO / "target" / "release"]
    for c in candidates:
        if (c / "adam-vs-gd").exists():
            return c
    pytest.fail(f"no experiment binaries in {candidates}: run `cargo build --workspace` first")
