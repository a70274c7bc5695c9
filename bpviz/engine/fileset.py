"""The one way bpviz writes files: the files of one output are written aside and put in place
together, or not at all.

::

    files = FileSet(folder)
    files.write("history.csv", write_history)      # write_history(tmp_path) makes the file
    files.write("weights.npz", write_weights)
    files.commit()                                 # every file in place, or none replaced

    write_file(path, write)                        # one file: a FileSet of one

Each file is first written under a temporary name in its own folder (``.<name>.<random>.tmp``)
and flushed to disk (``fsync``), so an error while writing any of them leaves every old file as
it was. ``commit`` then checks that every target can be replaced (a folder in the way is refused
before anything moves), keeps a hard link (or, where links are not possible, a copy) of each old
file, and renames (``os.replace``) the new files over the old ones; if a rename fails, the files
already moved are put back from those links, and a file that did not exist before is taken away
again. Once every file is in place the folder itself is flushed, so the renames survive a power
cut. On success or failure no temporary file is left; only a crash in the middle of ``commit``
(a few renames) can leave the output half replaced.

An ``OSError`` raised while writing or putting a file in place names that file (the target, not
its temporary name) in ``filename``; a temporary file that cannot be removed after an error (a disk
that turned read-only) does not hide that error.

``FileSet(folder, create=True)`` makes ``folder`` (and missing parents) when the first file is
written, and takes the folders it made away again when nothing was put in place.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from pathlib import Path
from typing import Callable


def _fsync(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _named(e: OSError, tmp: Path, target: Path) -> OSError:
    """``e`` naming ``target`` where it named the temporary file, or nothing."""
    if e.filename is None or str(e.filename) == str(tmp):
        e.filename = str(target)
    if e.filename2 is not None and str(e.filename2) in (str(tmp), str(target)):
        e.filename2 = None
    return e


class FileSet:
    """Files to be put into ``folder`` together (see the module's description)."""

    def __init__(self, folder, create: bool = False):
        self.folder = Path(folder)
        self.create = create
        self.staged: dict[Path, Path] = {}        # target → its temporary file, written
        self.made: list[Path] = []                # folders this output created, outermost first
        self.committed = False

    def _make_folder(self) -> None:
        missing = []
        folder = self.folder
        while not folder.exists() and folder != folder.parent:
            missing.append(folder)
            folder = folder.parent
        for folder in reversed(missing):
            try:
                folder.mkdir()
            except FileExistsError:
                continue
            except OSError as e:
                if e.filename is None:
                    e.filename = str(folder)
                raise
            self.made.append(folder)

    def _temporary(self, path: Path, kind: str) -> Path:
        return path.with_name(f".{path.name}.{secrets.token_hex(4)}.{kind}")

    def write(self, name, write: Callable[[Path], None]) -> Path:
        """Call ``write(tmp)`` to make the file that will become ``folder / name`` and flush it to
        disk; returns the temporary path (its size is the final file's). On error the temporary
        file is removed."""
        target = self.folder / name
        if target in self.staged:
            raise ValueError(f"{target} is already part of this output")
        if self.create and not self.staged:
            self._make_folder()
        tmp = self._temporary(target, "tmp")
        try:
            write(tmp)
            _fsync(tmp, os.O_RDWR | getattr(os, "O_BINARY", 0))
        except OSError as e:
            _remove(tmp)
            raise _named(e, tmp, target)
        except BaseException:
            _remove(tmp)
            raise
        self.staged[target] = tmp
        return tmp

    def temporary(self, target: Path) -> Path:
        """The temporary file written for ``target``."""
        return self.staged[Path(target)]

    def discard(self) -> None:
        """Remove every temporary file; nothing (more) is put in place. Folders this output
        created are taken away again unless a file was put in place or they are not empty."""
        for tmp in self.staged.values():
            _remove(tmp)
        self.staged.clear()
        if not self.committed:
            for folder in reversed(self.made):
                with contextlib.suppress(OSError):
                    folder.rmdir()
        self.made = []

    def commit(self) -> list[Path]:
        """Put every written file in place, or (raising the OSError) none: the old files stay."""
        try:
            for target in self.staged:
                if target.is_dir() and not target.is_symlink():
                    raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
            self._replace_all()
            self.committed = True
            for folder in {target.parent for target in self.staged}:
                _sync_folder(folder)
            return list(self.staged)
        finally:
            self.discard()

    def _replace_all(self) -> None:
        backups: dict[Path, Path] = {}
        moved: list[Path] = []
        try:
            for target in self.staged:
                if target.exists():
                    backups[target] = self._backup(target)
            for target, tmp in self.staged.items():
                try:
                    os.replace(tmp, target)
                except OSError as e:
                    raise _named(e, tmp, target)
                moved.append(target)
        except BaseException:
            for target in reversed(moved):          # undo: the old file back, or none
                with contextlib.suppress(OSError):
                    if target in backups:
                        os.replace(backups.pop(target), target)
                    else:
                        target.unlink()
            raise
        finally:
            for backup in backups.values():
                _remove(backup)

    def _backup(self, target: Path) -> Path:
        backup = self._temporary(target, "old")
        try:
            os.link(target, backup)
        except OSError:
            try:
                shutil.copy2(target, backup)
            except OSError as e:
                _remove(backup)
                raise _named(e, backup, target)
        return backup

    def __enter__(self) -> "FileSet":
        return self

    def __exit__(self, *exc) -> None:
        self.discard()          # after commit there is nothing left to discard


def _remove(path: Path) -> None:
    """Remove ``path`` if it is there; an error doing so (a read-only disk) is not reported: the
    error that made it left over is the one to report."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    """Make the renames into ``folder`` durable (POSIX; elsewhere a rename is as durable as the
    file system makes it)."""
    if os.name == "posix":
        with contextlib.suppress(OSError):
            _fsync(folder, os.O_RDONLY)


def write_file(path, write: Callable[[Path], None]) -> Path:
    """One file, atomically: call ``write(tmp)`` to make a temporary file beside ``path``, flush
    it and rename it over ``path``. On any error the temporary file is removed and ``path`` keeps
    its old content (or stays absent); an ``OSError`` names ``path``."""
    path = Path(path)
    with FileSet(path.parent) as files:
        files.write(path.name, write)
        files.commit()
    return path
