"""The run's plan: parts, splits present or absent, models to train and score, their order."""

from __future__ import annotations

from rf_models.config import read_config_files, validate_config
from rf_models.run_plan import plan_run
from tests.support.seed_config import REPO, seed_config

SEED_MODELS = ["b0", "b1", "b1short", "b1long", "b3", "r34", "xcep", "sf", "sf_noaug",
               "sf_16x8", "sf_alldata"]  # fmt: skip


def _demo_config() -> dict:
    return read_config_files([REPO / "config.yaml", REPO / "profiles/demo/demo-config.yaml"])


def test_the_full_reproduction_plans_every_part_and_model() -> None:
    plan = plan_run(seed_config())
    assert plan.parts == [f"dfdc_train_part_{k}" for k in range(50)]
    assert plan.splits == ["val_30-39", "alldata"] and plan.absent_splits == {}
    assert plan.list_splits == ["val_30-39", "alldata"]
    assert plan.train_order == plan.trained == SEED_MODELS
    assert plan.blocks["r34"]["input_size"] == 224 and plan.blocks["sf"]["gpus"] == 16
    assert set(plan.init_users.values()) == {0}
    assert (plan.ensemble_split, plan.ensemble) == ("val_30-39", True)
    assert plan.warnings == [] and plan.notes == []


def test_the_demo_trains_its_stand_in_first_and_scores_only_the_eleven() -> None:
    plan = plan_run(_demo_config())
    assert plan.train_order[:8] == SEED_MODELS[:7] + ["sf_pretrain"]
    assert plan.train_order.index("sf_pretrain") < plan.train_order.index("sf")
    assert plan.trained == SEED_MODELS
    assert plan.init_users["sf_pretrain"] == 4 and plan.init_users["sf"] == 0
    assert plan.blocks["sf"]["init"] == "demo_work/results/models/sf_pretrain/best.pt"
    # the seed's two splits cannot be formed by the demo's parts, and nothing needs them
    assert set(plan.absent_splits) == {"val_30-39", "alldata"}
    assert plan.warnings == []
    assert plan.notes == [
        "splits that these parts cannot form, used by nothing: val_30-39, alldata"
    ]
    assert (plan.ensemble_split, plan.ensemble) == ("heldout", True)


def test_a_subset_of_parts_leaves_out_the_splits_it_cannot_form_with_their_models() -> None:
    config = seed_config()
    config["parts"] = [0, 1, 30]
    del config["lists"]["build"]
    plan = plan_run(validate_config(config))
    assert plan.parts == ["dfdc_train_part_0", "dfdc_train_part_1", "dfdc_train_part_30"]
    assert set(plan.absent_splits) == {"val_30-39", "alldata"}
    assert plan.trained == [] and plan.list_splits == [] and not plan.ensemble
    assert len(plan.warnings) == 2
    assert plan.warnings[0].startswith("split val_30-39 is left out: parts [31, 32")
    assert plan.warnings[0].endswith("left out with it: b0, b1, b3, r34, xcep, sf, sf_noaug, "
                                     "sf_16x8, the ensemble")  # fmt: skip
