"""Writing files so that a crash never leaves a broken one: a temporary beside the target, then
one ``os.replace``.

Every temporary is named ``.colorzoo-tmp-<random><suffix>``: hidden, never an image or model
name a reader would pick up, and recognisable by :func:`remove_stale_temporaries`.

Example:

>>> write_atomically("scores.json", lambda handle: handle.write(b"{}"))
>>> replace_atomically("model.keras", model.save, suffix=".keras")
"""

import os
import tempfile

TEMPORARY_PREFIX = ".colorzoo-tmp-"


def replace_atomically(path, write, suffix=""):
    """Call ``write(temporary_path)`` on a temporary file beside ``path``, then rename it to ``path``.

    Creates missing folders. A crash mid-write leaves the previous ``path`` intact (or none), a
    failed write removes its temporary. The file gets the mode any new file gets under the
    user's umask (``mkstemp`` alone would leave it 0600). ``suffix`` is for writers that insist
    on an extension (``model.save`` wants ``.keras``).
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(suffix=suffix, prefix=TEMPORARY_PREFIX, dir=folder)
    os.close(handle)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write_atomically(path, write):
    """:func:`replace_atomically` for writers of an open binary file: ``write(handle)``."""

    def write_file(temporary):
        with open(temporary, "wb") as handle:
            write(handle)

    replace_atomically(path, write_file)


def remove_stale_temporaries(folder):
    """Delete the temporaries a killed writer left in ``folder`` (never a finished file).

    Only for folders one process owns, such as a training run's: another process writing there
    at the same time would lose its temporary.
    """
    if os.path.isdir(folder):
        for name in os.listdir(folder):
            if name.startswith(TEMPORARY_PREFIX):
                os.remove(os.path.join(folder, name))
