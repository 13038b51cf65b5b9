"""Synthetic DFDC-like demo data built from face photos that ship inside installed packages."""

from rf_models.demo.faces import FACE_SOURCES, FaceSource, load_photo, package_file
from rf_models.demo.synth import (
    AWKWARD_CASES,
    SUMMARY_NAME,
    DemoSummary,
    DemoVideo,
    PlannedHead,
    VideoPlan,
    awkward_cases_by_part,
    build_demo_dataset,
    load_demo_summary,
    plan_demo_dataset,
)

__all__ = [
    "AWKWARD_CASES",
    "FACE_SOURCES",
    "SUMMARY_NAME",
    "DemoSummary",
    "DemoVideo",
    "PlannedHead",
    "VideoPlan",
    "FaceSource",
    "awkward_cases_by_part",
    "build_demo_dataset",
    "load_demo_summary",
    "load_photo",
    "package_file",
    "plan_demo_dataset",
]
