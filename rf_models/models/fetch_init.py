"""``python -m rf_models.models.fetch_init --out pretrain/``: the image models' ImageNet
initialisation files, from timm's copies of the same networks' weights.

config.yaml's image blocks start from ``pretrain/<file>`` (their ``init`` keys), the files the
seed used (docs/reproduction.md §8 and §10): lukemelas' EfficientNet-B0/B1/B3, torchvision's
ResNet-34 and Cadene's Xception. timm publishes the same networks' weights, and this command
writes each file from them, in timm's key layout (which ``rf_models.models.load_init_weights``
reads for every arch: the published layouts and timm's load alike). Their heads are 1000-way;
training replaces them. What is known of their being the same tensors as the seed's files:

- EfficientNet: lukemelas' ``efficientnet-b{0,1,3}-*.pth`` are ports of Google's TensorFlow
  checkpoints trained with AutoAugment (his release of August 2019, which the hashes in these
  names identify; they are also mirrored under ``.../aa/``). timm's ``tf_efficientnet_b*.aa_in1k``
  are ports of those AutoAugment checkpoints ("trained on ImageNet-1k with auto-augment in
  Tensorflow by paper authors"). Same training run, converted independently: equal values are
  expected (up to key names), not checked here.
- ResNet-34: timm's default ``resnet34`` tag is a timm-trained weight (``a1_in1k``, another
  training run); ``resnet34.tv_in1k`` is torchvision's own ImageNet weight. torchvision
  re-saved its ResNet files in the zip format in 2020 (pytorch/vision#2068), so
  ``resnet34-b627a593.pth`` (what ``tv_in1k`` loads) and the seed's ``resnet34-333f7ec4.pth``
  hold the same training's tensors (timm PR #2346 moved its URLs to the re-saved files).
- Xception: timm's ``legacy_xception.tf_in1k`` is Cadene's port (timm re-hosts it as
  ``xception-43020ad28.pth`` with the pointwise weights already 4-D), the network of the
  seed's ``xception-b5690688.pth``. timm 1.0.31 gives it no Hugging Face repo, only that URL:
  it is fetched like timm fetches it, through torch.hub's cache.

The files come through ``huggingface_hub`` (its cache, ``HF_HUB_CACHE`` / ``HF_HOME``) and
torch.hub (``TORCH_HOME``). Offline (``HF_HUB_OFFLINE=1``, or a connection that fails) only
those caches are read; the command then says which file goes where and stops (exit 2).

SlowFast's Kinetics-400 file (``pretrain/sf50_k400.pth``) has no public source to fetch: the
seed's SlowFast is its own variant of the network, and pytorchvideo's SlowFast-R50 is a
different network that does not load into it. :data:`SLOWFAST_NOTE` says what to do instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from rf_models.io_utils import atomic_output_file
from rf_models.models.convert import check_fits, read_checkpoint
from rf_models.models.factory import create_model
from rf_models.models.keymaps import CheckpointError, StateDict
from rf_models.models.registry import get_arch

HF_WEIGHTS = ("model.safetensors", "pytorch_model.bin")  # timm's order: safetensors first

SLOWFAST_NOTE = (
    "pretrain/sf50_k400.pth (SlowFast-50, Kinetics-400): nothing to fetch. The seed "
    "initialised its SlowFast models from its own Kinetics-400 file for its own SlowFast "
    "variant, which is not published (pytorchvideo's SlowFast-R50 is a different network and "
    "does not load into it). Train the SlowFast models without it (init: null, from random "
    "weights), or start them from a SlowFast block trained first (init_model: <block>), as "
    "the demo does with sf_pretrain; or import the seed's released SlowFast checkpoints "
    "(python -m rf_models.models.import_seed)."
)


class FetchError(RuntimeError):
    """Initialisation files that could not be fetched; the message lists each and where it goes."""


@dataclass(frozen=True)
class InitFile:
    """One file of ``pretrain/``: what config.yaml names it, our arch, the timm weights."""

    filename: str
    arch: str
    timm_tag: str


INIT_FILES: tuple[InitFile, ...] = (
    InitFile("efficientnet-b0-355c32eb.pth", "tf_efficientnet_b0", "tf_efficientnet_b0.aa_in1k"),
    InitFile("efficientnet-b1-f1951068.pth", "tf_efficientnet_b1", "tf_efficientnet_b1.aa_in1k"),
    InitFile("efficientnet-b3-5fb5a3c3.pth", "tf_efficientnet_b3", "tf_efficientnet_b3.aa_in1k"),
    InitFile("resnet34-333f7ec4.pth", "resnet34", "resnet34.tv_in1k"),
    InitFile("xception-b5690688.pth", "legacy_xception", "legacy_xception.tf_in1k"),
)


@dataclass(frozen=True)
class Source:
    """Where timm's weights for one tag are: a Hugging Face repo, else a URL."""

    tag: str
    hf_repo: str | None
    url: str | None

    def describe(self, filename: str = HF_WEIGHTS[0]) -> str:
        """``<hub repo>:<file>`` (Hugging Face), else the URL."""
        return f"{self.hf_repo}:{filename}" if self.hf_repo else str(self.url)

    def download_url(self, filename: str = HF_WEIGHTS[0]) -> str:
        """Where a browser fetches the same file."""
        if self.hf_repo:
            return f"https://huggingface.co/{self.hf_repo}/resolve/main/{filename}"
        return str(self.url)


def source_of(tag: str) -> Source:
    """The hub repo (or URL) timm's pretrained config gives ``tag``."""
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(tag)
    if cfg is None:
        raise FetchError(f"timm has no pretrained weights tagged {tag!r}")
    hf_repo = cfg.hf_hub_id or None
    if hf_repo is None and not cfg.url:
        raise FetchError(f"timm's pretrained config of {tag!r} gives neither a hub repo nor a URL")
    return Source(tag, hf_repo, cfg.url or None)


def offline() -> bool:
    import huggingface_hub

    return bool(huggingface_hub.is_offline_mode())


def _from_hub(repo: str, cache_only: bool) -> Path:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError, RemoteEntryNotFoundError

    missing: OSError | None = None
    for filename in HF_WEIGHTS:
        try:
            return Path(hf_hub_download(repo, filename, local_files_only=cache_only))
        except RemoteEntryNotFoundError:  # the repo has no such file: try the next name
            continue
        except LocalEntryNotFoundError as exc:
            if not cache_only:  # the hub could not be reached
                raise
            missing = missing or exc
    raise missing or FileNotFoundError(f"{repo} holds none of {', '.join(HF_WEIGHTS)}")


def _from_url(url: str, cache_only: bool) -> Path:
    cached = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)
    if cached.is_file():
        return cached
    if cache_only:
        raise FileNotFoundError(f"{cached}: not in torch.hub's cache")
    cached.parent.mkdir(parents=True, exist_ok=True)
    # download_url_to_file writes a temporary file and renames it: no partial file is left.
    torch.hub.download_url_to_file(url, str(cached), progress=False)
    return cached


def download(source: Source, cache_only: bool = False) -> Path:
    """The local file of ``source``'s weights, from its cache or downloaded into it (only
    from the cache with ``cache_only`` or offline); OSError when it cannot be had."""
    cache_only = cache_only or offline()
    if source.hf_repo:
        return _from_hub(source.hf_repo, cache_only)
    return _from_url(str(source.url), cache_only)


def init_state(path: Path, arch: str) -> StateDict:
    """The weights of ``path`` in ``arch``'s key layout, checked to initialise it: every
    tensor but the classifier's present with the model's shape. Errors name the file."""
    try:
        state = get_arch(arch).convert(read_checkpoint(path))
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    with torch.device("meta"):
        target = create_model(arch).state_dict()
    check_fits(state, target, arch, path, init=True)
    return state


def _reason(exc: OSError, tried: bool) -> str:
    """Why a file is missing, for its line of the error: offline, always "not in the cache"."""
    if offline():
        return ""
    if not tried:
        return "   (not in the cache; not downloaded after the failure above)"
    first_line = (str(exc).splitlines() or [""])[0][:160]
    return f"   ({type(exc).__name__}: {first_line})"


def fetch_init(out: str | os.PathLike, force: bool = False) -> list[str]:
    """Write every missing file of :data:`INIT_FILES` under ``out`` (all of them with
    ``force``). Returns one line per file (written or kept); raises FetchError listing each
    file that could not be fetched (source -> destination), after writing the others."""
    out = Path(out)
    lines: list[str] = []
    failed: list[str] = []
    # After one failed download the rest come from the caches only: each hub request that
    # cannot connect is retried for ~20 s.
    cache_only = offline()
    for item in INIT_FILES:
        dest = out / item.filename
        if dest.exists() and not force:
            lines.append(f"{dest}: already there, kept (--force replaces it)")
            continue
        source = source_of(item.timm_tag)
        try:
            local = download(source, cache_only)
        except OSError as exc:
            line = f"  {source.describe()} -> {dest}{_reason(exc, tried=not cache_only)}"
            cache_only = True
            if source.hf_repo:  # the hub file's address, for a browser
                line += f"\n      {source.download_url()}"
            failed.append(line)
            continue
        state = init_state(local, item.arch)
        with atomic_output_file(dest, suffix=".pth") as tmp:
            torch.save(state, tmp)
        lines.append(f"{dest}: written from timm {item.timm_tag} ({source.describe(local.name)})")
    if failed:
        why = "offline: HF_HUB_OFFLINE is set" if offline() else "download failed"
        raise FetchError(
            f"{len(failed)} of {len(INIT_FILES)} ImageNet initialisation files could not be "
            f"fetched ({why}); each source (hub repo:file, or URL) and where it goes:\n"
            + "\n".join(failed)
            + "\nOn a machine with internet, run `python -m rf_models.models.fetch_init --out "
            f"{out}` and copy {out}/ here; or copy its Hugging Face cache (HF_HUB_CACHE) and "
            "torch.hub cache (TORCH_HOME) here and rerun; or save each file from the address "
            "under it as the path it goes to, as it is. The seed's original files (lukemelas' "
            "efficientnet-b*.pth, torchvision's resnet34-333f7ec4.pth, Cadene's "
            "xception-b5690688.pth) load as well at these paths."
        )
    return lines


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m rf_models.models.fetch_init",
        description="Write the image models' ImageNet initialisation files (config.yaml's "
        "`init` paths) from timm's weights of the same networks.",
    )
    p.add_argument("--out", type=Path, default=Path("pretrain"), help="folder (default: pretrain)")
    p.add_argument("--force", action="store_true", help="replace files already there")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        lines = fetch_init(args.out, force=args.force)
    except (FetchError, CheckpointError) as err:
        print(f"error: {err}", file=sys.stderr)
        print(SLOWFAST_NOTE)
        return 2
    print("\n".join(lines))
    print(SLOWFAST_NOTE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
