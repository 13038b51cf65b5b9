"""What one workflow run builds, planned from its validated configuration before any rule.

The Snakefile stays declarative: ``rules/common.smk`` calls :func:`plan_run` once and reads
the plain :class:`RunPlan` it returns (parts, splits, the models to train and score, their
resolved blocks and training order), logging its messages. Planning opens no video, so dry
runs stay fast on the full configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rf_models.config import part_names, split_problem
from rf_models.train.config import init_chain, models_to_train, resolve_model_block


@dataclass(frozen=True)
class RunPlan:
    """One run's plan.

    ``parts``: the part names it processes; ``splits``: every configured split, and
    ``absent_splits`` those the parts cannot form (split -> why), left out of ``all``;
    ``list_splits``: the splits whose lists ``all`` builds. ``train_order``: the blocks to
    train, each source before the blocks that start from it (``init_model``), with
    ``blocks`` their resolved blocks and ``init_users`` how many blocks start from each;
    ``trained``: the models ``all`` trains, scores and ensembles (``train.models`` whose
    split chain is present); ``ensemble_split``: the split the ensemble scores, and
    ``ensemble`` whether it can. ``warnings`` and ``notes`` are for the log."""

    parts: list[str]
    splits: list[str]
    absent_splits: dict[str, str]
    list_splits: list[str]
    train_order: list[str]
    blocks: dict[str, dict[str, Any]]
    init_users: dict[str, int]
    trained: list[str]
    ensemble_split: str
    ensemble: bool
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def plan_run(config: Mapping[str, Any]) -> RunPlan:
    """The plan of a validated configuration (:func:`rf_models.config.validate_config`)."""
    train_order = models_to_train(config)
    blocks = {m: resolve_model_block(config, m) for m in train_order}
    chains = {m: init_chain(config, m) for m in train_order}
    init_users = {m: sum(m in chains[n][1:] for n in train_order) for m in train_order}
    splits = list(config["lists"]["splits"])
    absent = {s: why for s in splits if (why := split_problem(config, s))}
    trained = [
        m
        for m in config["train"]["models"]
        if all(blocks[s]["split"] not in absent for s in chains[m])
    ]
    ensemble_split = config["ensemble"]["split"]
    warnings, unused = [], []
    for split, why in absent.items():
        needs = [m for m in train_order if any(blocks[s]["split"] == split for s in chains[m])]
        needs += ["the ensemble"] if split == ensemble_split else []
        if needs:
            warnings.append(
                f"split {split} is left out: {why}; left out with it: {', '.join(needs)}"
            )
        else:
            unused.append(split)
    # e.g. the demo's: its models train on splits of their own (train.overrides.splits)
    notes = [f"splits that these parts cannot form, used by nothing: {', '.join(unused)}"]
    return RunPlan(
        parts=part_names(dict(config)),
        splits=splits,
        absent_splits=absent,
        list_splits=list(config["lists"]["build"]),
        train_order=train_order,
        blocks=blocks,
        init_users=init_users,
        trained=trained,
        ensemble_split=ensemble_split,
        ensemble=bool(trained) and ensemble_split not in absent,
        warnings=warnings,
        notes=notes if unused else [],
    )
