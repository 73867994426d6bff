"""``Metric``: how a run's validation and test errors are shown (error rate in %, or RMSE).

Not here: which metric a run has (``bpnn.report.rundata.run_metric``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Metric"]


@dataclass
class Metric:
    """How the history's ``val_error``/``test_error`` are shown: error rate in %, or RMSE."""

    name: str

    @property
    def factor(self) -> float:
        return 100.0 if self.name == "error_rate" else 1.0

    @property
    def title(self) -> str:
        return "Error rate" if self.name == "error_rate" else "RMSE (targets' units)"

    @property
    def axis(self) -> str:
        return "error (%)" if self.name == "error_rate" else "RMSE"

    @property
    def word(self) -> str:
        return "error" if self.name == "error_rate" else "RMSE"

    def format(self, value) -> str:
        if value is None:
            return "n/a"
        return f"{100 * value:.2f}%" if self.name == "error_rate" else f"{value:.5g}"
