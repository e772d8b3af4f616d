"""colorzoo.files: atomic writes and the cleanup of a killed writer's temporaries."""

import errno
import os
import stat
import subprocess
import sys

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


@pytest.mark.parametrize("hard_links", [True, False])
def test_without_replace_a_name_taken_while_writing_is_left_alone(tmp_path, monkeypatch, hard_links):
    if not hard_links:  # a file system without them (FAT): os.link fails with EPERM
        monkeypatch.setattr(os, "link", lambda *args: (_ for _ in ()).throw(OSError(errno.EPERM, "no links")))
    path = tmp_path / "a.png"

    def write_while_the_user_saves(handle):
        handle.write(b"colorized")
        path.write_bytes(b"the user's own file")

    with pytest.raises(FileExistsError, match=f"{path} exists already .*: left alone"):
        files.write_atomically(path, write_while_the_user_saves, replace=False)
    assert path.read_bytes() == b"the user's own file" and os.listdir(tmp_path) == ["a.png"]
    files.write_atomically(tmp_path / "b.png", lambda handle: handle.write(b"new"), replace=False)
    assert (tmp_path / "b.png").read_bytes() == b"new" and sorted(os.listdir(tmp_path)) == ["a.png", "b.png"]


def test_remove_stale_temporaries_keeps_files_and_live_writers_temporaries(tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_writer = f"{files.TEMPORARY_PREFIX}{finished.stdout.strip()}-abc.keras"
    live_writer = f"{files.TEMPORARY_PREFIX}{os.getpid()}-def.png"
    old_version = files.TEMPORARY_PREFIX + "ghi.keras"  # no pid in the name: removed
    for name in (dead_writer, live_writer, old_version, ".hidden", "best.keras", ".tmp-user-file"):
        (tmp_path / name).write_text("x")
    files.remove_stale_temporaries(tmp_path)
    files.remove_stale_temporaries(tmp_path / "missing")  # a folder that does not exist is fine
    assert sorted(os.listdir(tmp_path)) == sorted([live_writer, ".hidden", ".tmp-user-file", "best.keras"])


def test_temporaries_name_their_writer(tmp_path):
    seen = []

    def write(temporary):
        seen.append(os.path.basename(temporary))
        open(temporary, "w").close()

    files.replace_atomically(tmp_path / "a.txt", write)
    assert seen[0].startswith(f"{files.TEMPORARY_PREFIX}{os.getpid()}-")
