"""Models: the factory, the seed's SlowFast-50, and loading of the seed's checkpoint layouts.

Names are imported on first use (lazy_loader): the workflow reads the normalisation names
while it builds the DAG, without loading PyTorch and timm.
"""

import lazy_loader

_EXPORTS = {
    "convert": [
        "CheckpointError",
        "convert_state_dict",
        "load_init_weights",
        "load_seed_checkpoint",
        "read_checkpoint",
    ],
    "factory": ["available_archs", "create_model"],
    "normalisation": ["Normalisation", "normalisation_constants"],
    "slowfast": ["SlowFast", "slowfast_r50"],
}

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs=_EXPORTS)
