"""JSON form of VideoTracks: round trips, atomic writes and malformed files."""

import copy
import json

import pytest

from rf_models.track import (
    TracksFormatError,
    VideoTracks,
    read_tracks_json,
    track_video,
    write_tracks_json,
)


@pytest.fixture
def tracks() -> VideoTracks:
    # b is in frames 1-3 (face 1, the longer tube); a in frames 1 and 3 (face 2: frame 2
    # borrows frame 1's entry)
    a, b = (10, 10, 29, 29), (60, 10, 79, 29)
    return track_video({1: [a, b], 2: [b], 3: [a, b]}, [1, 2, 3], 100, 80)


def test_json_dict_round_trip(tracks):
    data = json.loads(json.dumps(tracks.to_json_dict()))
    assert data["faces"][0]["frames"][1]["box"] == [60, 10, 79, 29]
    assert data["faces"][1]["frames"][1]["box"] is None
    assert data["faces"][1]["frames"][1]["source_frame"] == 1
    assert VideoTracks.from_json_dict(data) == tracks


def test_no_face_round_trip():
    no_face = track_video({}, [1, 2], 100, 80)
    assert VideoTracks.from_json_dict(no_face.to_json_dict()) == no_face


def test_file_round_trip_is_atomic_and_overwrites(tmp_path, tracks):
    path = tmp_path / "video.json"
    path.write_text("old content")
    write_tracks_json(path, tracks)
    assert read_tracks_json(path) == tracks
    assert sorted(p.name for p in tmp_path.iterdir()) == ["video.json"]  # no temp file left


def test_write_creates_missing_folders(tmp_path, tracks):
    path = tmp_path / "part" / "video.json"
    write_tracks_json(path, tracks)
    assert read_tracks_json(path) == tracks


def test_failed_write_leaves_no_temp_file(tmp_path, tracks):
    # the target is a folder, so the final os.replace fails
    (tmp_path / "video.json").mkdir()
    with pytest.raises(OSError):
        write_tracks_json(tmp_path / "video.json", tracks)
    assert [p.name for p in tmp_path.iterdir()] == ["video.json"]


def test_read_invalid_json_names_the_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"version": 1, "status": ')
    with pytest.raises(TracksFormatError, match=r"broken\.json: expected a JSON tracks file"):
        read_tracks_json(path)
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(TracksFormatError, match="broken.json"):
        read_tracks_json(path)


def test_read_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_tracks_json(tmp_path / "absent.json")


def mutate(data: dict, change) -> dict:
    changed = copy.deepcopy(data)
    change(changed)
    return changed


def _set(path: list, value):
    def change(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _delete(path: list):
    def change(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return change


CROP = ["faces", 0, "frames", 0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set(["version"], 2), r"tracks\.version: expected 1, found 2"),
        (_set(["version"], True), r"tracks\.version: expected an integer"),
        (_delete(["width"]), r"missing \['width'\]"),
        (_set(["extra"], 1), r"unexpected \['extra'\]"),
        (_set(["status"], "done"), r"tracks\.status: expected one of"),
        (_set(["status"], "no_face"), "'no_face' exactly when there are no faces"),
        (_set(["num_faces"], 3), r"tracks\.num_faces: expected the number of faces listed \(2\)"),
        (_set(["height"], 0), r"tracks\.height: expected an integer >= 1"),
        (_set(["vote"], "2"), r"tracks\.vote: expected an integer"),
        (_set(["faces"], {}), r"tracks\.faces: expected a list"),
        (_set(["faces", 1, "face"], 3), r"faces\[1\]\.face: expected 2, found 3"),
        (_set(["faces", 0, "crop_size"], -2), r"crop_size: expected an integer >= 0"),
        (_set(["num_frames"], 4), r"faces\[0\]\.frames: expected num_frames \(4\) crops"),
        (_set([*CROP, "size"], 10), r"frames\[0\]\.size: expected the face's crop_size 24"),
        (_set([*CROP, "left"], -1), r"frames\[0\]\.left: expected an integer >= 0"),
        (_set([*CROP, "top"], 1.5), r"frames\[0\]\.top: expected an integer"),
        (_set([*CROP, "box"], [1, 2, 3]), r"frames\[0\]\.box: expected 4 integer corners"),
        (_set([*CROP, "box"], [5, 2, 3, 4]), r"frames\[0\]\.box: expected x1 <= x2"),
        (_set([*CROP, "frame"], 9), r"frames\[\]\.frame: expected strictly increasing"),
        (_delete([*CROP, "source_frame"]), r"missing \['source_frame'\]"),
        (_set(["faces", 0, "frames", 1], "frame"), r"frames\[1\]: expected an object, found str"),
    ],
)
def test_malformed_records_are_rejected(tracks, change, message):
    bad = mutate(tracks.to_json_dict(), change)
    with pytest.raises(TracksFormatError, match=message):
        VideoTracks.from_json_dict(bad)


def test_malformed_file_error_names_the_file(tmp_path, tracks):
    path = tmp_path / "v.json"
    path.write_text(json.dumps(mutate(tracks.to_json_dict(), _set(["status"], "done"))))
    with pytest.raises(TracksFormatError, match=r"v\.json: tracks\.status"):
        read_tracks_json(path)


def test_top_level_must_be_an_object():
    with pytest.raises(TracksFormatError, match="tracks: expected an object, found list"):
        VideoTracks.from_json_dict([])
