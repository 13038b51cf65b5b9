"""Models: the factory, the seed's SlowFast-50, and loading of the seed's checkpoint layouts.

Names are imported on first use (rf_models.lazy): the workflow reads the normalisation names
while it builds the DAG, without loading PyTorch and timm.
"""

from rf_models.lazy import lazy_exports

_SOURCES = {
    "CheckpointError": "convert",
    "convert_state_dict": "convert",
    "load_init_weights": "convert",
    "load_seed_checkpoint": "convert",
    "read_checkpoint": "convert",
    "available_archs": "factory",
    "create_model": "factory",
    "Normalisation": "normalisation",
    "normalisation_constants": "normalisation",
    "SlowFast": "slowfast",
    "slowfast_r50": "slowfast",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
