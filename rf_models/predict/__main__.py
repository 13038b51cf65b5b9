"""Command line: ``python -m rf_models.predict VIDEO_OR_FOLDER... --models results/models``.

Prints a table (file, P(FAKE), status, faces, each model's score, reason) and writes, under
``--out``: ``submission.csv`` (filename,label), ``details.csv``, ``predictions.json`` (per face,
the frames each model saw and their P(FAKE)) and ``pictures/<video>.png`` for each scored video.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

from rf_models.config import ConfigError, load_repo_config
from rf_models.infer.folder import predict_folder
from rf_models.infer.predict_options import PredictOptions, PredictOutputs
from rf_models.predict import find_models, format_table
from rf_models.report.video_sheet import plot_video_sheet
from rf_models.train.checkpoint import CheckpointError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m rf_models.predict",
        description="Score videos with the trained models and the seed's ensemble: P(FAKE) "
        "per video, with a picture of the faces and frames behind it.",
    )
    p.add_argument("videos", nargs="+", type=Path, help="video files and/or folders of videos")
    p.add_argument(
        "--models",
        type=Path,
        default=Path("results/models"),
        help="folder of trained models, <model>/best.pt (default: results/models)",
    )
    p.add_argument("--model", action="append", default=[], help="use only this model (repeatable)")
    p.add_argument(
        "--config",
        action="append",
        default=[],
        type=Path,
        help="YAML merged over the repository's config.yaml (repeatable), e.g. "
        "profiles/demo/demo-config.yaml",
    )
    p.add_argument("--out", type=Path, default=Path("predict_out"), help="output folder")
    p.add_argument("--device", default=None, help="auto, cpu, cuda (default: train.device)")
    p.add_argument("--no-pictures", action="store_true", help="skip the per-video pictures")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
    )
    try:
        config = load_repo_config(args.config)
        checkpoints = find_models(args.models, config, args.model)
        out = args.out
        draw = None if args.no_pictures else plot_video_sheet
        options = PredictOptions.from_config(config)
        if args.device:
            options = replace(options, device=args.device)
        results = predict_folder(
            args.videos,
            checkpoints,
            config["ensemble"]["policy"],
            PredictOutputs.under(out, draw),
            options,
        )
    except (ConfigError, CheckpointError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(format_table(results, list(checkpoints)))
    print(f"\nwritten under {out}/: submission.csv, details.csv, predictions.json", end="")
    print("" if args.no_pictures else ", pictures/<video>.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
