"""Models: the factory, the seed's SlowFast-50, and loading of the seed's checkpoint layouts."""

from rf_models.models.convert import (
    CheckpointError,
    convert_state_dict,
    load_init_weights,
    load_seed_checkpoint,
    read_checkpoint,
)
from rf_models.models.factory import available_archs, create_model
from rf_models.models.normalisation import Normalisation, normalisation_constants
from rf_models.models.slowfast import SlowFast, slowfast_r50

__all__ = [
    "CheckpointError",
    "Normalisation",
    "SlowFast",
    "available_archs",
    "convert_state_dict",
    "create_model",
    "load_init_weights",
    "load_seed_checkpoint",
    "normalisation_constants",
    "read_checkpoint",
    "slowfast_r50",
]
