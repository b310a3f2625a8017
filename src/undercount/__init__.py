"""undercount: multiple systems estimation for counting victims from incomplete lists."""

from undercount import datasets
from undercount.core import (
    CaptureTable,
    Diagnostic,
    Estimator,
    Interval,
    ModelRecord,
    MSEResult,
)
from undercount.errors import (
    ConfigError,
    EstimationError,
    InputError,
    MLENotFoundError,
    UndercountError,
    UndercountWarning,
)
from undercount.io import read_table

__version__ = "0.3.0"

__all__ = [
    "CaptureTable",
    "ConfigError",
    "Diagnostic",
    "EstimationError",
    "Estimator",
    "InputError",
    "Interval",
    "MLENotFoundError",
    "MSEResult",
    "ModelRecord",
    "UndercountError",
    "UndercountWarning",
    "__version__",
    "datasets",
    "read_table",
]
