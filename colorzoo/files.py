"""Writing files so that a crash never leaves a broken one: a temporary beside the target, then
one ``os.replace``.

Every temporary is named ``.colorzoo-tmp-<pid>-<random><suffix>``: hidden, never an image or
model name a reader would pick up, and recognisable by :func:`remove_stale_temporaries`, which
deletes only those whose writing process has ended.

Example:

>>> write_atomically("scores.json", lambda handle: handle.write(b"{}"))
>>> replace_atomically("model.keras", model.save, suffix=".keras")
"""

import errno
import os
import tempfile

TEMPORARY_PREFIX = ".colorzoo-tmp-"
# What os.link raises on file systems without hard links (FAT: EPERM).
NO_HARD_LINKS = {errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS}


def replace_atomically(path, write, suffix="", replace=True):
    """Call ``write(temporary_path)`` on a temporary file beside ``path``, then rename it to ``path``.

    Creates missing folders. A crash mid-write leaves the previous ``path`` intact (or none), a
    failed write removes its temporary. The file gets the mode any new file gets under the
    user's umask (``mkstemp`` alone would leave it 0600). ``suffix`` is for writers that insist
    on an extension (``model.save`` wants ``.keras``). With ``replace=False`` an existing ``path``,
    even one that appeared while ``write`` ran, is left alone: ``FileExistsError`` (the file is
    published with a hard link, which fails on a taken name; where the file system has no hard
    links, the name is checked just before the rename).
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(suffix=suffix, prefix=f"{TEMPORARY_PREFIX}{os.getpid()}-", dir=folder)
    os.close(handle)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    try:
        write(temporary)
        if replace:
            os.replace(temporary, path)
        else:
            _publish_new(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _publish_new(temporary, path):
    """Give the finished ``temporary`` the name ``path`` unless that name is taken (``FileExistsError``)."""
    try:
        os.link(temporary, path)
        return
    except FileExistsError:
        taken = True
    except OSError as error:
        if error.errno not in NO_HARD_LINKS:
            raise
        taken = os.path.lexists(path)
    if taken:
        raise FileExistsError(f"{path} exists already (it appeared while this run wrote it): left alone")
    os.replace(temporary, path)


def write_atomically(path, write, replace=True):
    """:func:`replace_atomically` for writers of an open binary file: ``write(handle)``."""

    def write_file(temporary):
        with open(temporary, "wb") as handle:
            write(handle)

    replace_atomically(path, write_file, replace=replace)


def check_writable(folder):
    """Check a file can be written in ``folder`` (``""``: the current folder), or for a missing
    folder in its nearest existing parent, without creating anything: an ``OSError`` naming the
    folder (not writable, read-only file system, a file in the way, ...) before any work, not after it."""
    existing = folder or "."
    while not os.path.isdir(existing):
        parent = os.path.dirname(os.path.abspath(existing))
        if os.path.lexists(existing) or parent == os.path.abspath(existing):
            raise NotADirectoryError(errno.ENOTDIR, f"cannot write to the output folder {folder}: {existing} is not a folder")
        existing = parent
    try:
        handle, probe = tempfile.mkstemp(prefix=f"{TEMPORARY_PREFIX}{os.getpid()}-", dir=existing)
    except OSError as error:
        raise type(error)(error.errno, f"cannot write to the output folder {folder}: {error.strerror}") from None
    os.close(handle)
    os.remove(probe)


def remove_stale_temporaries(folder):
    """Delete the temporaries that writers killed mid-write left in ``folder`` (never a finished file).

    A temporary whose process still runs on this machine is kept, so concurrent writers to the
    same folder (two ``colorzoo colorize`` into one output folder) are safe. On Windows, where
    no process can be probed without side effects, nothing is removed.
    """
    if os.name == "nt" or not os.path.isdir(folder):
        return
    for name in os.listdir(folder):
        if name.startswith(TEMPORARY_PREFIX) and not _writer_is_running(name):
            try:
                os.remove(os.path.join(folder, name))
            except FileNotFoundError:  # its writer finished or removed it meanwhile
                pass


def _writer_is_running(name):
    """Whether the process named in a temporary's name (``.colorzoo-tmp-<pid>-...``) is running."""
    pid = name[len(TEMPORARY_PREFIX) :].split("-", 1)[0]
    if not pid.isdigit():
        return False  # written by a colorzoo version that did not name its process
    try:
        os.kill(int(pid), 0)
    except PermissionError:
        return True  # a live process of another user
    except (ProcessLookupError, OverflowError):
        return False  # no such process (OverflowError: not a possible pid)
    return True
