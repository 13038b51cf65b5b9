"""Generated dataset trees, one builder per layout of :mod:`rf_models.data.layouts`.

Each builder writes a small tree with the dataset's real naming patterns and its label and
split files, including bad inputs (a file a split names but that is absent, an unlisted file,
a label that disagrees with its folder, a duplicate, an id in two splits, ...), and returns a
:class:`DatasetTree`: the config block that lists it and the truth, per video path, of the
set, group, name, label, status before decoding and original the listing must give.

Video files are written by ``write_video(path)`` (its folder already exists): the default
writes a few placeholder bytes, workflow tests can pass a writer of real tiny videos.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rf_models.data.datasets import DatasetListing, listed_status

WriteVideo = Callable[[Path], None]


def placeholder_video(path: Path) -> None:
    path.write_bytes(b"not a real video, only listed\n")


@dataclass(frozen=True)
class Expected:
    """What the listing must say about one video."""

    set: str
    group: str
    name: str
    label: int | None
    status: str  # bad_metadata, missing, not_in_metadata or listed
    original: str | None = None


@dataclass(frozen=True)
class DatasetTree:
    root: Path
    block: dict
    videos: dict[Path, Expected]  # absolute path -> truth


def observed(listing: DatasetListing) -> dict[Path, Expected]:
    """A listing in the shape of :attr:`DatasetTree.videos`, to compare with the truth."""
    seen: dict[Path, Expected] = {}
    for v in listing.videos:
        assert v.path not in seen, f"{v.path} listed twice"
        seen[v.path] = Expected(v.set, v.group, v.name, v.label, listed_status(v)[0], v.original)
    return seen


class _Tree:
    """Collects the truth while a builder writes files."""

    def __init__(self, root: Path, write_video: WriteVideo) -> None:
        self.root = root
        self.write_video = write_video
        self.videos: dict[Path, Expected] = {}
        root.mkdir(parents=True, exist_ok=True)

    def video(self, path: Path, expected: Expected, write: bool = True) -> None:
        assert path not in self.videos, path
        if write:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.write_video(path)
        self.videos[path] = expected

    def file(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def done(self, block: dict) -> DatasetTree:
        return DatasetTree(self.root, {"root": str(self.root), **block}, dict(self.videos))


def build_dfdc_train(root: Path, write_video: WriteVideo = placeholder_video) -> DatasetTree:
    """DFDC's training parts: dfdc_train_part_<k>/ with metadata.json ({name: {label, split,
    original}}), a group per part folder, every video in set train."""
    t = _Tree(root, write_video)

    def video(part: int, name: str, label, status: str, original=None, write=True) -> None:
        folder = f"dfdc_train_part_{part}"
        expected = Expected("train", folder, name, label, status, original)
        t.video(root / folder / name, expected, write)

    video(0, "aaqaifqrwn.mp4", 0, "listed")
    video(0, "abarnvbtwb.mp4", 1, "listed", original="aaqaifqrwn.mp4")
    video(0, "abhggqdift.mp4", None, "bad_metadata")  # label "MAYBE"
    video(0, "acazlolrpz.mp4", 1, "missing", original="aaqaifqrwn.mp4", write=False)
    video(0, "adohdulfwb.mp4", None, "not_in_metadata")  # a file without a row
    video(0, "aassnaulhq.MP4", 0, "listed")
    video(0, "aassnaulhq.mp4", None, "bad_metadata")  # one video id for two files
    video(10, "bbbbbbbbbb.mp4", 0, "listed")
    video(10, "cccccccccc.mp4", 1, "listed", original="bbbbbbbbbb.mp4")

    def row(label, original=None) -> dict:
        return {"label": label, "split": "train", "original": original}

    t.file(
        "dfdc_train_part_0/metadata.json",
        json.dumps(
            {
                "aaqaifqrwn.mp4": row("REAL"),
                "abarnvbtwb.mp4": row("FAKE", "aaqaifqrwn.mp4"),
                "abhggqdift.mp4": row("MAYBE"),
                "acazlolrpz.mp4": row("FAKE", "aaqaifqrwn.mp4"),
                "aassnaulhq.MP4": row("REAL"),
                "aassnaulhq.mp4": row("REAL"),
            }
        ),
    )
    t.file(
        "dfdc_train_part_10/metadata.json",
        json.dumps(
            {"bbbbbbbbbb.mp4": row("REAL"), "cccccccccc.mp4": row("FAKE", "bbbbbbbbbb.mp4")}
        ),
    )
    t.file("dfdc_train_part_x/metadata.json", "{}")  # not a part folder: ignored
    t.file("README.txt", "not a part\n")
    return t.done({"layout": "dfdc_train"})


def build_dfdc_test(root: Path, write_video: WriteVideo = placeholder_video) -> DatasetTree:
    """The DFDC public test set: flat .mp4 files and labels.csv (filename,label; 1 = FAKE)."""
    t = _Tree(root, write_video)

    def test(
        name: str, label: int | None, status: str, write: bool = True, where: str = ""
    ) -> None:
        t.video(root / (where or name), Expected("test", "test", name, label, status), write)

    test("aaqaifqrwn.mp4", 1, "listed")
    test("aayfryxljh.mp4", 0, "listed")
    test("abofeumbvv.mp4", 1, "listed")
    test("abhggqdift.mp4", None, "bad_metadata")  # label cell "2"
    test("acazlolrpz.mp4", 0, "missing", write=False)  # a row without a file
    test("adohdulfwb.mp4", None, "not_in_metadata")  # a file without a row
    test("aelzhcnwgf.mp4", None, "bad_metadata")  # listed twice
    test("sub/agdkmztvby.mp4", None, "bad_metadata", write=False)  # a path, not a file name
    # one video id for two files: the later name (sorted) cannot be used
    test("aassnaulhq.MP4", 0, "listed")
    test("aassnaulhq.mp4", None, "bad_metadata")
    t.file("notes.txt", "not a video\n")
    t.file(
        "labels.csv",
        "filename,label\n"
        "aaqaifqrwn.mp4,1\n"
        "aayfryxljh.mp4,0\n"
        "abofeumbvv.mp4,1\n"
        "abhggqdift.mp4,2\n"
        "acazlolrpz.mp4,0\n"
        "aelzhcnwgf.mp4,1\n"
        "\n"
        "aelzhcnwgf.mp4,1\n"
        "sub/agdkmztvby.mp4,0\n"
        "aassnaulhq.MP4,0\n"
        "aassnaulhq.mp4,1\n",
    )
    return t.done({"layout": "dfdc_test"})


def build_dfdcp(root: Path, write_video: WriteVideo = placeholder_video) -> DatasetTree:
    """DFDC-preview: nested paths under original_videos/, method_A/, method_B/ as
    dataset.json names them."""
    t = _Tree(root, write_video)
    meta: dict[str, dict] = {}

    def entry(key: str, label: str, set_: str, truth: Expected | None, write: bool = True):
        meta[key] = {"label": label, "set": set_, "augmentations": {}}
        if truth is not None:
            t.video(root / key, truth, write)

    a1 = "method_A/1003254/1003254_A/1255229_1003254_A_001.mp4"
    b1 = "method_B/1003254/1003254_B/1255229_1003254_B_001.mp4"
    entry(
        "original_videos/1003254/1003254_A_001.mp4",
        "real",
        "train",
        Expected("train", "original_videos", "1003254_A_001.mp4", 0, "listed"),
    )
    entry(
        "original_videos/1255229/1255229_A_002.mp4",
        "real",
        "test",
        Expected("test", "original_videos", "1255229_A_002.mp4", 0, "listed"),
    )
    entry(a1, "fake", "train", Expected("train", "method_A", a1.rsplit("/")[-1], 1, "listed"))
    entry(b1, "fake", "test", Expected("test", "method_B", b1.rsplit("/")[-1], 1, "listed"))
    # label against folder: fake in original_videos, real in method_A
    entry(
        "original_videos/1640001/1640001_A_001.mp4",
        "fake",
        "train",
        Expected("train", "original_videos", "1640001_A_001.mp4", None, "bad_metadata"),
    )
    entry(
        "method_A/1640001/1640001_A/1003254_1640001_A_002.mp4",
        "real",
        "test",
        Expected("test", "method_A", "1003254_1640001_A_002.mp4", None, "bad_metadata"),
    )
    # named without a file
    entry(
        "method_B/1640001/1640001_B/1003254_1640001_B_004.mp4",
        "fake",
        "test",
        Expected("test", "method_B", "1003254_1640001_B_004.mp4", 1, "missing"),
        write=False,
    )
    # one file name at two paths of method_A: the later key cannot be used
    entry(
        "method_A/1003254/1003254_A/1640001_1003254_A_003.mp4",
        "fake",
        "train",
        Expected("train", "method_A", "1640001_1003254_A_003.mp4", 1, "listed"),
    )
    entry(
        "method_A/2000000/2000000_A/1640001_1003254_A_003.mp4",
        "fake",
        "test",
        Expected("test", "method_A", "1640001_1003254_A_003.mp4", None, "bad_metadata"),
    )
    # an unknown set, and a key outside the group folders
    entry(
        "method_B/1255229/1255229_B/1003254_1255229_B_001.mp4",
        "fake",
        "dev",
        Expected("unsplit", "method_B", "1003254_1255229_B_001.mp4", None, "bad_metadata"),
    )
    entry(
        "extra/1.mp4",
        "fake",
        "train",
        Expected("train", "extra", "1.mp4", None, "bad_metadata"),
        write=False,
    )
    # a file dataset.json does not name
    t.video(
        root / "method_A/1999999/1999999_A/1003254_1999999_A_001.mp4",
        Expected("unsplit", "method_A", "1003254_1999999_A_001.mp4", 1, "not_in_metadata"),
    )
    t.file("method_A/1999999/readme.txt", "not a video\n")
    t.file("dataset.json", json.dumps(meta, indent=1))
    return t.done({"layout": "dfdcp"})


FFPP_CLASSIC = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures")
FFPP_ALL = FFPP_CLASSIC + ("FaceShifter", "DeepFakeDetection")
FFPP_SPLITS = {
    "train": [["000", "003"], ["001", "002"], ["006", "008"], ["010", "011"]],
    "val": [["004", "005"], ["004", "005"]],  # a repeated pair is harmless
    # 006 is also in train; so are 010, 011 and their fakes
    "test": [["953", "974"], ["006", "007"], ["011", "010"]],
}


def build_ffpp(
    root: Path,
    methods: tuple[str, ...] = FFPP_CLASSIC,
    write_video: WriteVideo = placeholder_video,
    dfd_set: str = "test",
) -> DatasetTree:
    """FaceForensics++ c23 with all six method folders on disk; the truth is that of a block
    configuring ``methods`` (the folders of the others must be ignored)."""
    t = _Tree(root, write_video)
    original = root / "original_sequences"
    manipulated = root / "manipulated_sequences"

    def vdir(base: Path, folder: str) -> Path:
        return base / folder / "c23" / "videos"

    def put(path: Path, truth: Expected, configured: bool, write: bool = True) -> None:
        if configured:
            t.video(path, truth, write)
        elif write:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_video(path)

    split_methods = [m for m in methods if m != "DeepFakeDetection"]
    sets_of: dict[str, list[str]] = {}
    for set_, pairs in FFPP_SPLITS.items():
        for a, b in pairs:
            for vid in (a, b, f"{a}_{b}", f"{b}_{a}"):
                if set_ not in sets_of.setdefault(vid, []):
                    sets_of[vid].append(set_)

    for vid, sets in sets_of.items():
        bad = len(sets) > 1
        status = "bad_metadata" if bad else "listed"
        name = f"{vid}.mp4"
        if "_" not in vid:
            missing = vid == "007"
            put(
                vdir(original, "youtube") / name,
                Expected(
                    sets[0],
                    "youtube",
                    name,
                    None if bad else 0,
                    "missing" if missing and not bad else status,
                ),
                bool(split_methods),
                write=not missing,
            )
            continue
        for method in FFPP_ALL[:5]:
            missing = method == "Deepfakes" and vid == "001_002"
            put(
                vdir(manipulated, method) / name,
                Expected(
                    sets[0],
                    method,
                    name,
                    None if bad else 1,
                    "missing" if missing else status,
                    f"{vid.split('_')[0]}.mp4",
                ),
                method in methods,
                write=not missing,
            )
    # files no pair covers
    put(
        vdir(original, "youtube") / "999.mp4",
        Expected("unsplit", "youtube", "999.mp4", 0, "not_in_metadata"),
        bool(split_methods),
    )
    put(
        vdir(manipulated, "Face2Face") / "998_999.mp4",
        Expected("unsplit", "Face2Face", "998_999.mp4", 1, "not_in_metadata", "998.mp4"),
        "Face2Face" in methods,
    )
    # masks beside videos are not videos of the dataset
    (manipulated / "Deepfakes" / "c23" / "masks").mkdir(parents=True)
    write_video(manipulated / "Deepfakes" / "c23" / "masks" / "000_003.mp4")
    # DFD: no official split, every video in dfd_set
    dfd = "DeepFakeDetection" in methods
    for name in ("01__meeting_serious.mp4", "02__outside_talking_still_laughing.mp4"):
        put(vdir(original, "actors") / name, Expected(dfd_set, "actors", name, 0, "listed"), dfd)
    for name, orig in (
        ("01_02__meeting_serious__YVGY8LOK.mp4", "01__meeting_serious.mp4"),
        (
            "02_01__outside_talking_still_laughing__N3F1CJ7R.mp4",
            "02__outside_talking_still_laughing.mp4",
        ),
    ):
        put(
            vdir(manipulated, "DeepFakeDetection") / name,
            Expected(dfd_set, "DeepFakeDetection", name, 1, "listed", orig),
            dfd,
        )
    for set_, pairs in FFPP_SPLITS.items():
        t.file(f"splits/{set_}.json", json.dumps(pairs, indent=2))
    return t.done({"layout": "ffpp", "methods": list(methods), "dfd_set": dfd_set})


CELEBDF_LIST = [
    "1 YouTube-real/00170.mp4",
    "1 Celeb-real/id0_0000.mp4",
    "0 Celeb-synthesis/id0_id1_0000.mp4",
    "0 Celeb-synthesis/id1_id0_0000.mp4",
    "1 Celeb-synthesis/id0_id2_0001.mp4",  # says real, folder says fake
    "0 Celeb-real/id1_0000.mp4",  # says fake, folder says real
    "1 YouTube-real/00171.mp4",
    "1 YouTube-real/00171.mp4",  # listed twice
    "0 Celeb-synthesis/id9_id8_0003.mp4",  # no such file
    "",
]


def build_celebdf(root: Path, write_video: WriteVideo = placeholder_video) -> DatasetTree:
    """Celeb-DF v2: the three folders and List_of_testing_videos.txt (1 = real, 0 = fake)."""
    t = _Tree(root, write_video)
    test_truth = {
        "YouTube-real/00170.mp4": (0, "listed"),
        "Celeb-real/id0_0000.mp4": (0, "listed"),
        "Celeb-synthesis/id0_id1_0000.mp4": (1, "listed"),
        "Celeb-synthesis/id1_id0_0000.mp4": (1, "listed"),
        "Celeb-synthesis/id0_id2_0001.mp4": (None, "bad_metadata"),
        "Celeb-real/id1_0000.mp4": (None, "bad_metadata"),
        "YouTube-real/00171.mp4": (None, "bad_metadata"),
        "Celeb-synthesis/id9_id8_0003.mp4": (1, "missing"),
    }
    files = {
        "Celeb-real": ["id0_0000.mp4", "id0_0001.mp4", "id1_0000.mp4", "id2_0000.mp4"],
        "YouTube-real": ["00000.mp4", "00170.mp4", "00171.mp4"],
        "Celeb-synthesis": [
            "id0_id1_0000.mp4",
            "id1_id0_0000.mp4",
            "id0_id2_0001.mp4",
            "id2_id0_0000.mp4",
            "id1_id2_0000.mp4",
        ],
    }
    for folder, names in files.items():
        label = 1 if folder == "Celeb-synthesis" else 0
        for name in names:
            key = f"{folder}/{name}"
            lab, status = test_truth.get(key, (label, "listed"))
            t.video(
                root / key,
                _celeb(folder, name, "test" if key in test_truth else "train", lab, status),
            )
    t.video(
        root / "Celeb-synthesis/id9_id8_0003.mp4",
        _celeb("Celeb-synthesis", "id9_id8_0003.mp4", "test", 1, "missing"),
        write=False,
    )
    t.file("List_of_testing_videos.txt", "\n".join(CELEBDF_LIST))
    return t.done({"layout": "celebdf"})


def _celeb(folder: str, name: str, set_: str, label: int | None, status: str) -> Expected:
    original = None
    if folder == "Celeb-synthesis":
        a, _, k = name[: -len(".mp4")].split("_")
        original = f"{a}_{k}.mp4"
    return Expected(set_, folder.replace("-", "_"), name, label, status, original)


DF10_SPLITS = {
    "train": ["000_M101.mp4", "001_W102.mp4", "005_M106.mp4"],
    "val": ["002_M103.mp4"],
    "test": ["003_W104.mp4", "004_M105.mp4", "005_M106.mp4", ""],
}


def build_deeperforensics(base: Path, write_video: WriteVideo = placeholder_video) -> DatasetTree:
    """DeeperForensics-1.0 at ``base/DeeperForensics-1.0`` with its real part, FF++ c23
    youtube, at the sibling ``base/FaceForensics++`` (the default real_root)."""
    root = base / "DeeperForensics-1.0"
    t = _Tree(root, write_video)
    fakes = root / "manipulated_videos" / "end_to_end"
    reals = base / "FaceForensics++" / "original_sequences" / "youtube" / "c23" / "videos"
    for name, set_, status, write in (
        ("000_M101.mp4", "train", "listed", True),
        ("001_W102.mp4", "train", "listed", True),
        ("002_M103.mp4", "val", "listed", True),
        ("003_W104.mp4", "test", "listed", True),
        ("004_M105.mp4", "test", "missing", False),
        ("005_M106.mp4", "train", "bad_metadata", True),  # in train.txt and test.txt
        ("998_M107.mp4", "unsplit", "not_in_metadata", True),  # in no split file
    ):
        label = None if status == "bad_metadata" else 1
        t.video(
            fakes / name,
            Expected(set_, "end_to_end", name, label, status, f"{name[:3]}.mp4"),
            write,
        )
    for name, set_, status, write in (
        ("000.mp4", "train", "listed", True),
        ("001.mp4", "train", "listed", True),
        ("002.mp4", "val", "missing", False),
        ("003.mp4", "test", "listed", True),
        ("004.mp4", "test", "listed", True),
        ("005.mp4", "train", "bad_metadata", True),  # target of fakes in train and test
        ("006.mp4", "unsplit", "not_in_metadata", True),  # target of no split fake
    ):
        label = None if status == "bad_metadata" else 0
        t.video(reals / name, Expected(set_, "real", name, label, status), write)
    # another variant and the source videos are not listed
    other = root / "manipulated_videos" / "end_to_end_level_1" / "000_M101.mp4"
    other.parent.mkdir(parents=True)
    write_video(other)
    source = root / "source_videos" / "M101" / "M101_light_up_happy_camera_front.mp4"
    source.parent.mkdir(parents=True)
    write_video(source)
    for set_, lines in DF10_SPLITS.items():
        t.file(f"lists/splits/{set_}.txt", "\n".join(lines))
    return t.done({"layout": "deeperforensics"})


def build_uadfv(root: Path, write_video: WriteVideo = placeholder_video) -> DatasetTree:
    """UADFV: real/ and fake/, no split; every video in set test."""
    t = _Tree(root, write_video)
    for name in ("0000.mp4", "0001.mp4"):
        t.video(root / "real" / name, Expected("test", "real", name, 0, "listed"))
    for name in ("0000_fake.mp4", "0001_fake.mp4", "0002_fake.avi"):
        t.video(root / "fake" / name, Expected("test", "fake", name, 1, "listed"))
    # one video id for two files: the later name cannot be used
    t.video(
        root / "fake" / "0002_fake.mp4",
        Expected("test", "fake", "0002_fake.mp4", None, "bad_metadata"),
    )
    t.file("fake/notes.txt", "not a video\n")
    nested = root / "real" / "frames" / "0000.mp4"  # subfolders are not part of UADFV
    nested.parent.mkdir(parents=True)
    write_video(nested)
    return t.done({"layout": "uadfv"})


def build_folder(root: Path, write_video: WriteVideo = placeholder_video) -> DatasetTree:
    """A user's real/ and fake/ subfolders, nested; names flatten ``/`` to ``__``."""
    t = _Tree(root, write_video)
    t.video(root / "real/a.mp4", Expected("test", "real", "a.mp4", 0, "listed"))
    t.video(root / "real/day1/b.mp4", Expected("test", "real", "day1__b.mp4", 0, "listed"))
    # a second path with the same flat name: the later path cannot be used
    t.video(
        root / "real/day1__b.mp4", Expected("test", "real", "day1__b.mp4", None, "bad_metadata")
    )
    t.video(root / "fake/a.mp4", Expected("test", "fake", "a.mp4", 1, "listed"))
    t.video(root / "fake/x/y/c.MOV", Expected("test", "fake", "x__y__c.MOV", 1, "listed"))
    t.file("fake/x/notes.txt", "not a video\n")
    return t.done({"layout": "folder"})


def build_folder_csv(base: Path, write_video: WriteVideo = placeholder_video) -> DatasetTree:
    """A user's CSV (path,label,set) at ``base/data/list.csv``, with one absolute path
    outside the root."""
    root = base / "data"
    t = _Tree(root, write_video)
    outside = base / "elsewhere" / "r3.mp4"
    t.video(
        root / "videos/r1.mp4", Expected("test", "real", "videos__r1.mp4", None, "bad_metadata")
    )  # listed twice
    t.video(root / "videos/f1.mp4", Expected("train", "fake", "videos__f1.mp4", 1, "listed"))
    t.video(root / "videos/f2.mp4", Expected("val", "fake", "videos__f2.mp4", 1, "listed"))
    t.video(root / "videos/r2.mp4", Expected("test", "real", "videos__r2.mp4", 0, "listed"))
    t.video(
        root / "videos/bad.mp4",
        Expected("test", "unlabelled", "videos__bad.mp4", None, "bad_metadata"),
    )
    t.video(
        root / "videos/gone.mp4",
        Expected("test", "fake", "videos__gone.mp4", 1, "missing"),
        write=False,
    )
    t.video(
        root / "videos/badset.mp4",
        Expected("test", "fake", "videos__badset.mp4", None, "bad_metadata"),
    )
    t.video(
        root / "videos/badboth.mp4",
        Expected("test", "unlabelled", "videos__badboth.mp4", None, "bad_metadata"),
    )  # neither its label nor its set can be read
    t.video(outside, Expected("test", "real", "r3.mp4", 0, "listed"))
    t.video(root / "sub/dup.mp4", Expected("test", "fake", "sub__dup.mp4", 1, "listed"))
    t.video(root / "sub__dup.mp4", Expected("test", "fake", "sub__dup.mp4", None, "bad_metadata"))
    write_video(root / "videos/unlisted.mp4")  # on disk, but the CSV is the listing
    t.file(
        "list.csv",
        "path,label,set\n"
        "videos/r1.mp4,REAL,\n"
        "videos/f1.mp4,FAKE,train\n"
        "videos/f2.mp4,1,val\n"
        "videos/r2.mp4,0,test\n"
        "videos/bad.mp4,maybe,\n"
        "videos/gone.mp4,fake,\n"
        "videos/r1.mp4,REAL,\n"
        f"{outside},real\n"
        "videos/badset.mp4,FAKE,dev\n"
        "sub/dup.mp4,1,\n"
        "sub__dup.mp4,1,\n"
        "videos/badboth.mp4,maybe,dev\n",
    )
    return t.done({"layout": "folder", "csv": "list.csv"})


BUILDERS = {
    "dfdc_train": build_dfdc_train,
    "dfdc_test": build_dfdc_test,
    "dfdcp": build_dfdcp,
    "ffpp": build_ffpp,
    "celebdf": build_celebdf,
    "deeperforensics": build_deeperforensics,
    "uadfv": build_uadfv,
    "folder": build_folder,
}
