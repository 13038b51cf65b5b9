"""Detection metrics (log loss, ROC AUC, AP, EER, accuracy) at video and frame level."""

from rf_models.metrics.binary import (
    LOG_LOSS_EPS,
    METRIC_KEYS,
    binary_metrics,
    equal_error_rate,
    log_loss_clipped,
)
from rf_models.metrics.tables import (
    video_and_frame_metrics,
    write_metrics_csv,
    write_metrics_json,
)

__all__ = [
    "LOG_LOSS_EPS",
    "METRIC_KEYS",
    "binary_metrics",
    "equal_error_rate",
    "log_loss_clipped",
    "video_and_frame_metrics",
    "write_metrics_csv",
    "write_metrics_json",
]
