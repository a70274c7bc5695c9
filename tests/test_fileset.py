"""The one atomic writer (engine.fileset): a temporary file beside the target, flushed to disk and
renamed over it; on any error the old files stay byte for byte and no temporary file is left; the
files of one output land together or none does. Also through a real session save."""

import errno
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpviz.engine import fileset
from bpviz.engine.fileset import FileSet, write_file


def text(content):
    def write(tmp):
        with open(tmp, "x", encoding="utf-8") as f:
            f.write(content)
    return write


def half_then(error):
    def write(tmp):
        tmp.write_text("half")
        raise error
    return write


def contents(folder):
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def test_write_file_puts_the_new_file_in_place(tmp_path):
    target = tmp_path / "a.txt"
    assert write_file(target, text("one")) == target
    assert write_file(target, text("two")) == target
    assert contents(tmp_path) == {"a.txt": "two"}


def test_a_failure_mid_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(OSError, match="No space left") as err:
        write_file(target, half_then(OSError(errno.ENOSPC, "No space left on device")))
    assert err.value.filename == str(target)            # the target, not its temporary name
    with pytest.raises(RuntimeError, match="power cut"):
        write_file(target, half_then(RuntimeError("power cut")))
    with pytest.raises(RuntimeError, match="power cut"):
        write_file(tmp_path / "new.txt", half_then(RuntimeError("power cut")))
    assert contents(tmp_path) == {"a.txt": "old"}


def test_a_failed_rename_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "a.txt"
    target.write_text("old")

    def refuse(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied", str(src), None, str(dst))
    monkeypatch.setattr(fileset.os, "replace", refuse)
    with pytest.raises(PermissionError) as err:
        write_file(target, text("new"))
    assert err.value.filename == str(target)
    assert contents(tmp_path) == {"a.txt": "old"}


def test_a_missing_folder_is_named_by_the_target(tmp_path):
    target = tmp_path / "no such folder" / "a.txt"
    with pytest.raises(FileNotFoundError) as err:
        write_file(target, text("new"))
    assert err.value.filename == str(target)
    assert list(tmp_path.iterdir()) == []


def test_the_file_is_flushed_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace, real_open = os.fsync, os.replace, os.open
    opened = {}

    def record_open(path, flags, *args):
        fd = real_open(path, flags, *args)
        opened[fd] = os.path.basename(path)
        return fd

    def record_fsync(fd):
        events.append(("fsync", opened.get(fd)))
        real_fsync(fd)

    def record_replace(src, dst):
        events.append(("replace", os.path.basename(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(fileset.os, "open", record_open)
    monkeypatch.setattr(fileset.os, "fsync", record_fsync)
    monkeypatch.setattr(fileset.os, "replace", record_replace)
    write_file(tmp_path / "a.txt", text("new"))
    (kind, name), *rest = events
    assert kind == "fsync" and name.startswith(".a.txt.") and name.endswith(".tmp")
    expected = [("replace", "a.txt")] + ([("fsync", tmp_path.name)] if os.name == "posix" else [])
    assert rest == expected


def test_several_files_land_together_or_none(tmp_path, monkeypatch):
    for name in ("a", "b", "c"):
        (tmp_path / name).write_text(f"old {name}")
    old = contents(tmp_path)

    # a writer fails: nothing is replaced
    with FileSet(tmp_path) as files:
        files.write("a", text("new a"))
        with pytest.raises(OSError):
            files.write("b", half_then(OSError(errno.EIO, "I/O error")))
    assert contents(tmp_path) == old

    # the third rename fails: the two files already moved are put back, a new one taken away
    real_replace = os.replace
    moves = []

    def third_fails(src, dst):
        if str(src).endswith(".tmp"):
            moves.append(dst)
            if len(moves) == 3:
                raise PermissionError(errno.EACCES, "Permission denied", str(dst))
        return real_replace(src, dst)
    monkeypatch.setattr(fileset.os, "replace", third_fails)
    with FileSet(tmp_path) as files:
        for name in ("a", "new", "c"):
            files.write(name, text(f"new {name}"))
        with pytest.raises(PermissionError) as err:
            files.commit()
    assert err.value.filename == str(tmp_path / "c")
    assert contents(tmp_path) == old

    # a folder in the way is refused before anything moves
    monkeypatch.setattr(fileset.os, "replace", real_replace)
    (tmp_path / "d").mkdir()
    with FileSet(tmp_path) as files:
        files.write("a", text("new a"))
        files.write("d", text("new d"))
        with pytest.raises(IsADirectoryError):
            files.commit()
    assert (tmp_path / "d").is_dir()
    (tmp_path / "d").rmdir()
    assert contents(tmp_path) == old

    # and when nothing fails, all of them
    with FileSet(tmp_path) as files:
        for name in ("a", "b", "c"):
            files.write(name, text(f"new {name}"))
        assert files.commit() == [tmp_path / n for n in ("a", "b", "c")]
    assert contents(tmp_path) == {n: f"new {n}" for n in ("a", "b", "c")}


@settings(max_examples=60, deadline=None)
@given(old=st.lists(st.booleans(), min_size=1, max_size=5),
       fail_at=st.one_of(st.none(), st.tuples(st.sampled_from(["write", "fsync", "rename"]),
                                              st.integers(0, 4))))
def test_an_output_is_all_new_or_all_old(tmp_path_factory, old, fail_at):
    """Whatever file of an output fails, at whatever step, the folder holds either every new
    file or exactly what it held before, and never a temporary file."""
    folder = tmp_path_factory.mktemp("out")
    names = [f"f{k}" for k in range(len(old))]
    for name, exists in zip(names, old):
        if exists:
            (folder / name).write_text(f"old {name}")
    before = contents(folder)
    step, at = fail_at if fail_at is not None else (None, -1)
    count = {"fsync": 0, "rename": 0}
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        count["fsync"] += 1
        if step == "fsync" and count["fsync"] - 1 == at:
            raise OSError(errno.EIO, "I/O error")
        real_fsync(fd)

    def replace(src, dst):
        if str(src).endswith(".tmp"):
            count["rename"] += 1
            if step == "rename" and count["rename"] - 1 == at:
                raise OSError(errno.EIO, "I/O error", str(dst))
        real_replace(src, dst)

    failed = False
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fileset.os, "fsync", fsync)
        patch.setattr(fileset.os, "replace", replace)
        try:
            with FileSet(folder) as files:
                for k, name in enumerate(names):
                    files.write(name, half_then(OSError(errno.ENOSPC, "full"))
                                if step == "write" and k == at else text(f"new {name}"))
                files.commit()
        except OSError:
            failed = True
    after = contents(folder)
    if failed:
        assert after == before
    else:
        assert after == {name: f"new {name}" for name in names}
    assert failed == (fail_at is not None and at < len(names))   # the folder's flush may fail


# -- through a real session save -----------------------------------------------------------------

def test_a_session_save_that_cannot_be_put_in_place_keeps_the_old_file(tmp_path, make_run,
                                                                        monkeypatch):
    from bpviz.engine.session import load_session, save_session
    cfg, _ds, _net, trainer = make_run("xor")
    path = tmp_path / "run.bpviz"
    save_session(path, trainer, cfg)
    before = path.read_bytes()
    trainer.run(epochs=1)

    def refuse(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied", str(dst))
    monkeypatch.setattr(fileset.os, "replace", refuse)
    with pytest.raises(PermissionError) as err:
        save_session(path, trainer, cfg)
    assert err.value.filename == str(path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["run.bpviz"]
    monkeypatch.undo()
    save_session(path, trainer, cfg)
    assert load_session(path).trainer.epoch == trainer.epoch == 1


# -- a read-only disk, and folders made for an output ---------------------------------------------

def test_a_read_only_disk_is_reported_for_the_target_not_the_temporary_file(tmp_path,
                                                                            monkeypatch):
    """On a read-only disk even removing the temporary file fails (EROFS): that second error must
    not replace the first, which names the file the user asked for."""
    def read_only(tmp):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp))

    def unlink(self, missing_ok=False):
        raise OSError(errno.EROFS, "Read-only file system", str(self))
    monkeypatch.setattr(fileset.Path, "unlink", unlink)
    with pytest.raises(OSError) as err:
        write_file(tmp_path / "a.txt", read_only)
    assert err.value.errno == errno.EROFS and err.value.filename == str(tmp_path / "a.txt")


def test_a_read_only_disk_through_the_command_line_names_the_target(tmp_path, monkeypatch,
                                                                    capsys):
    from bpviz.cli import main
    real_open = open

    def read_only_open(file, *args, **kwargs):
        if str(file).endswith(".tmp"):
            raise OSError(errno.EROFS, "Read-only file system", str(file))
        return real_open(file, *args, **kwargs)

    def unlink(self, missing_ok=False):
        raise OSError(errno.EROFS, "Read-only file system", str(self))
    monkeypatch.setattr("builtins.open", read_only_open)
    monkeypatch.setattr(fileset.Path, "unlink", unlink)
    assert main(["train", "--preset", "xor", "--epochs", "1", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (f"bpviz: cannot write or read {tmp_path / 'history.csv'}: "
                                       f"Read-only file system\n")


def test_a_folder_made_for_an_output_goes_again_when_nothing_is_put_in_place(tmp_path):
    out = tmp_path / "new" / "deeper"
    with FileSet(out, create=True) as files:
        files.write("a", text("a"))
        with pytest.raises(OSError):
            files.write("b", half_then(OSError(errno.ENOSPC, "No space left on device")))
    assert list(tmp_path.iterdir()) == []
    # a folder that was there before stays, and so does one that holds other files
    (tmp_path / "kept").mkdir()
    with FileSet(tmp_path / "kept", create=True) as files:
        with pytest.raises(OSError):
            files.write("b", half_then(OSError(errno.ENOSPC, "No space left on device")))
    assert [p.name for p in tmp_path.iterdir()] == ["kept"]
    # and when the output lands, the folders it made stay with it
    with FileSet(out, create=True) as files:
        files.write("a", text("a"))
        files.commit()
    assert contents(out) == {"a": "a"}


def test_a_folder_that_cannot_be_made_is_named(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with FileSet(tmp_path / "file" / "sub", create=True) as files:
        with pytest.raises(OSError) as err:
            files.write("a", text("a"))
    assert err.value.filename == str(tmp_path / "file" / "sub")
