"""colorzoo.files: atomic writes and the cleanup of a killed writer's temporaries."""

import os
import stat

import pytest

from colorzoo import files


def test_replace_keeps_the_old_file_when_the_write_fails(tmp_path):
    path = tmp_path / "scores.json"
    path.write_text("old")

    def fail(temporary):
        with open(temporary, "w") as handle:
            handle.write("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        files.replace_atomically(path, fail)
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["scores.json"]


def test_replace_gives_the_umask_mode_and_the_suffix(tmp_path):
    seen = []

    def write(temporary):
        seen.append(os.path.basename(temporary))
        with open(temporary, "w") as handle:
            handle.write("new")

    old_umask = os.umask(0o022)
    try:
        files.replace_atomically(tmp_path / "deep" / "model.keras", write, suffix=".keras")
    finally:
        os.umask(old_umask)
    assert seen[0].startswith(files.TEMPORARY_PREFIX) and seen[0].endswith(".keras")
    assert (tmp_path / "deep" / "model.keras").read_text() == "new"
    assert stat.S_IMODE(os.stat(tmp_path / "deep" / "model.keras").st_mode) == 0o644


def test_write_atomically_hands_over_a_binary_file(tmp_path):
    files.write_atomically(tmp_path / "a.bin", lambda handle: handle.write(b"\x00\x01"))
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"


def test_remove_stale_temporaries_only_removes_temporaries(tmp_path):
    for name in (files.TEMPORARY_PREFIX + "abc.keras", ".hidden", "best.keras", ".tmp-user-file"):
        (tmp_path / name).write_text("x")
    files.remove_stale_temporaries(tmp_path)
    files.remove_stale_temporaries(tmp_path / "missing")  # a folder that does not exist is fine
    assert sorted(os.listdir(tmp_path)) == [".hidden", ".tmp-user-file", "best.keras"]
