"""Training: configs, schedule, sampler, datasets, transforms, the loop and its launchers.

Nothing is imported here: the workflow reads model blocks (rf_models.train.config) while it
builds the DAG, which must not pay for importing torch.
"""
