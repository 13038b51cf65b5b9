"""Training: configs, schedule, sampler, datasets, transforms, the loop and its launchers."""

from rf_models.train.config import ConfigError, ModelConfig, load_model_config
from rf_models.train.loop import TrainResult, train_model

__all__ = ["ConfigError", "ModelConfig", "TrainResult", "load_model_config", "train_model"]
