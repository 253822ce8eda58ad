"""Type stubs of gengap's native module (the PyO3 bindings in python/src/).

Every function raises ValueError (one line, naming the argument) on a bad
argument; `train` and `ReducedGD.step` raise KeyboardInterrupt on Ctrl-C.
"""

from os import PathLike
from typing import Any, Callable, Literal, Mapping, Protocol, Sequence, Union, final

import numpy as np
import numpy.typing as npt

__version__: str
__all__ = [
    "__version__",
    "_panic",
    "blas",
    "set_blas_threads",
    "Dataset",
    "_dataset_from_json",
    "generate",
    "c22",
    "z23",
    "init",
    "forward",
    "loss_grad",
    "evaluate",
    "Optimizer",
    "make",
    "_optimizer_from_json",
    "train",
    "decompose",
    "decompose_arrays",
    "ReducedGD",
    "_reduced_gd_from_parts",
    "studies",
    "study_config",
    "run_study",
]

_F64 = npt.NDArray[np.float64]
#: A config table: a dict (as JSON would hold it) or TOML text.
_Config = Union[Mapping[str, Any], str]
#: An array-like of real numbers (converted to float64 by a copy where needed).
_RealArray = Union[npt.ArrayLike, Sequence[Any]]
_IndexArray = Union[npt.NDArray[np.integer[Any]], Sequence[Any]]

# gengap.data

@final
class Dataset:
    """A data set: `train`/`test` dicts of arrays, `signal`, and its sizes."""

    @staticmethod
    def from_arrays(
        x: _RealArray,
        y: _RealArray,
        x_test: _RealArray,
        y_test: _RealArray,
        signal: _RealArray | None = None,
        noise: _RealArray | None = None,
        noise_test: _RealArray | None = None,
        signal_patch: _IndexArray | None = None,
        signal_patch_test: _IndexArray | None = None,
        noise_patches: _IndexArray | None = None,
        noise_patches_test: _IndexArray | None = None,
    ) -> Dataset: ...
    @property
    def model(self) -> Literal["c22", "z23", "noisy_mnist", "xor", "moderate_d", "weak_strong", "user"]: ...
    @property
    def signal(self) -> _F64: ...
    @property
    def train(self) -> dict[str, npt.NDArray[Any]]: ...
    @property
    def test(self) -> dict[str, npt.NDArray[Any]]: ...
    @property
    def d(self) -> int: ...
    @property
    def n(self) -> int: ...
    @property
    def patches(self) -> int: ...

def _dataset_from_json(text: str) -> Dataset: ...
def generate(config: _Config, seed: int, stream: int = 0) -> Dataset: ...
def c22(seed: int, stream: int = 0, **params: Any) -> Dataset: ...
def z23(seed: int, stream: int = 0, **params: Any) -> Dataset: ...

# gengap.model

def init(d: int, seed: int, stream: int = 1, model: _Config | None = None) -> _F64: ...
def forward(w: _F64, x: _F64, model: _Config | None = None) -> _F64: ...
def loss_grad(w: _F64, x: _F64, y: _F64, model: _Config | None = None) -> tuple[float, float, _F64]: ...
def evaluate(w: _F64, x: _F64, y: _F64, model: _Config | None = None) -> tuple[float, float]: ...

# gengap.optim

@final
class Optimizer:
    """An optimizer of gengap-optim, stepping float64 arrays in place."""

    def step(self, w: _F64, g: _F64) -> None: ...
    def state(self) -> dict[str, Any]: ...
    def load_state(self, state: Mapping[str, Any]) -> None: ...
    @property
    def name(self) -> str: ...
    @property
    def lr(self) -> float: ...
    @lr.setter
    def lr(self, lr: float) -> None: ...
    @property
    def eps(self) -> float | None: ...
    @eps.setter
    def eps(self, eps: float) -> None: ...
    @property
    def betas(self) -> tuple[float, float] | None: ...
    @betas.setter
    def betas(self, betas: tuple[float, float]) -> None: ...
    @property
    def config(self) -> dict[str, Any]: ...

def make(config: _Config) -> Optimizer: ...
def _optimizer_from_json(config: str, state: str) -> Optimizer: ...

# gengap.analysis

def decompose(w: _F64, w0: _F64, data: Dataset) -> dict[str, Any]: ...
def decompose_arrays(
    w: npt.ArrayLike,
    w0: npt.ArrayLike,
    signal: npt.ArrayLike,
    noise: npt.ArrayLike,
    labels: npt.ArrayLike,
) -> dict[str, Any]: ...

@final
class ReducedGD:
    """The exact reduced-space engine for span-preserving algorithms."""

    def __new__(
        cls,
        data: Dataset,
        w0: _F64,
        lr: float | None = None,
        model: _Config | None = None,
        weight_decay: float = 0.0,
        optim: _Config | None = None,
        algorithm: _Config | None = None,
        batch_size: int | None = None,
        seed: int = 0,
    ) -> ReducedGD: ...
    def step(self, k: int = 1) -> tuple[float, float]: ...
    @property
    def t(self) -> int: ...
    def run(
        self,
        max_steps: int,
        target_loss: float | None = None,
        target_error: float | None = None,
        record_every: int | None = None,
    ) -> dict[str, Any]: ...
    def train_metrics(self) -> tuple[float, float]: ...
    def test_metrics(self) -> tuple[float, float]: ...
    def population_error(
        self,
        sigma_p: float,
        noise: Literal["orthogonal", "isotropic"] = "orthogonal",
        samples: int = 100000,
        seed: int = 0,
    ) -> float: ...
    def weights(self) -> _F64: ...
    def theta(self) -> _F64: ...
    def decomposition(self) -> dict[str, Any]: ...

def _reduced_gd_from_parts(
    data: Dataset, w0: _F64, model: str, optim: str, train: str, seed: int, t: int
) -> ReducedGD: ...

# gengap (top level)

class _StepOptimizer(Protocol):
    """Any object with `step(w, g)` that updates `w` (float64, shape (2m, d)) in place."""

    def step(self, w: _F64, g: _F64, /) -> object: ...

def train(
    data: Dataset,
    optim: _Config | Optimizer | _StepOptimizer,
    model: _Config | None = None,
    steps: int | None = None,
    record_every: int = 10,
    decompose: bool = False,
    w0: _F64 | None = None,
    seed: int = 0,
    train: _Config | None = None,
    batch_size: int | None = None,
    algorithm: _Config | None = None,
    callback: Callable[[dict[str, Any]], bool | None] | None = None,
    callback_weights: bool = False,
    keep_decomposition: bool = False,
    progress: bool = False,
    lr_schedule: _Config | Callable[[int], float] | None = None,
    eps_schedule: _Config | Callable[[int], float] | None = None,
) -> dict[str, Any]: ...
def studies() -> list[str]: ...
def study_config(name: str, quick: bool = False) -> str: ...
def run_study(
    name: str,
    config: _Config,
    out: str | PathLike[str] = "results",
    figures: str | PathLike[str] | None = None,
    shard: str | None = None,
    merge: bool = False,
    config_path: str | PathLike[str] | None = None,
    progress: bool = True,
) -> dict[str, Any]: ...
def blas() -> dict[str, Any]: ...
def _panic(message: str) -> None: ...
def set_blas_threads(n: int) -> None: ...
