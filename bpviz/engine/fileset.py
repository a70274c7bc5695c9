"""The files of one output, written aside and put in place together, or not at all.

::

    files = FileSet(folder)
    files.write("history.csv", write_history)      # write_history(tmp_path) makes the file
    files.write("weights.npz", write_weights)
    files.commit()                                 # every file in place, or none replaced

Each file is first written under a temporary name in ``folder`` (``.<name>.<random>.tmp``), so an
error while writing any of them leaves every old file as it was. ``commit`` then checks that every
target can be replaced (a folder in the way is refused before anything moves), keeps a hard link
(or, where links are not possible, a copy) of each old file, and renames the new files over the
old ones; if a rename fails, the files already moved are put back from those links. On success or
failure no temporary file is left; only a crash in the middle of ``commit`` (a few renames) can
leave the output half replaced.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from pathlib import Path
from typing import Callable


class FileSet:
    """Files to be put into ``folder`` together (see the module's description)."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.staged: dict[Path, Path] = {}        # target → its temporary file, written

    def _temporary(self, path: Path, kind: str) -> Path:
        return path.with_name(f".{path.name}.{secrets.token_hex(4)}.{kind}")

    def write(self, name, write: Callable[[Path], None]) -> Path:
        """Call ``write(tmp)`` to make the file that will become ``folder / name``; returns the
        temporary path (its size is the final file's). On error the temporary file is removed."""
        target = self.folder / name
        if target in self.staged:
            raise ValueError(f"{target} is already part of this output")
        tmp = self._temporary(target, "tmp")
        try:
            write(tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self.staged[target] = tmp
        return tmp

    def temporary(self, target: Path) -> Path:
        """The temporary file written for ``target``."""
        return self.staged[Path(target)]

    def discard(self) -> None:
        """Remove every temporary file; nothing is put in place."""
        for tmp in self.staged.values():
            tmp.unlink(missing_ok=True)
        self.staged.clear()

    def commit(self) -> list[Path]:
        """Put every written file in place, or (raising the OSError) none: the old files stay."""
        try:
            for target in self.staged:
                if target.is_dir() and not target.is_symlink():
                    raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
            backups: dict[Path, Path] = {}
            moved: list[Path] = []
            try:
                for target in self.staged:
                    if target.exists():
                        backups[target] = self._backup(target)
                for target, tmp in self.staged.items():
                    os.replace(tmp, target)
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
                    with contextlib.suppress(OSError):
                        backup.unlink()
            return list(self.staged)
        finally:
            self.discard()

    def _backup(self, target: Path) -> Path:
        backup = self._temporary(target, "old")
        try:
            os.link(target, backup)
        except OSError:
            shutil.copy2(target, backup)
        return backup

    def __enter__(self) -> "FileSet":
        return self

    def __exit__(self, *exc) -> None:
        self.discard()          # after commit there is nothing left to discard
