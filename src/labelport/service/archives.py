"""Archives users upload (zip; tar, plain or compressed): every member checked before anything is written.

Refused, naming the member: an absolute path (``/x``, ``C:\\x``), a ``..`` component, a symbolic or hard link,
a device, FIFO or anything else that is neither a regular file nor a folder, a file given twice or a name that
is both a file and a folder, a name part over 255 bytes, an encrypted zip member or one of an unknown
compression method; and the archive as a whole when it has more than ``max_members`` members, its files add up
to more than ``max_bytes`` uncompressed, or it is damaged (whatever the zip and tar readers raise on it,
fuzzed in ``tests/fuzz/test_archives.py``). ``extract`` checks first, then writes only regular files and
folders under a new folder, counting the bytes it writes (a member that inflates past its declared size stops
at the cap); a name this filesystem refuses (too long) refuses its member, and the server's disk failing is a
StoreError.
"""

from __future__ import annotations

import lzma
import os
import re
import shutil
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

from labelport.errors import LabelportError, StoreError, ValidationError

MAX_MEMBERS = 100_000
MAX_NAME_BYTES = 255  # of one path component, as Linux and macOS filesystems allow
BLOCK = 1024 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")
T = TypeVar("T")
_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
# What the zip and tar readers raise on damaged input: besides their own errors, a truncated stream (EOFError,
# zlib, lzma and bz2 errors), a bad header field (struct.error, ValueError, OverflowError), an encrypted zip
# member (RuntimeError) or an unknown compression method (NotImplementedError). Found by tests/fuzz.
_DAMAGED = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    tarfile.TarError,
    EOFError,
    OSError,
    zlib.error,
    lzma.LZMAError,
    struct.error,
    ValueError,
    OverflowError,
    NotImplementedError,
    RuntimeError,
)


@dataclass(frozen=True, slots=True)
class Member:
    """A checked member: its path relative to the archive's root ('/'-separated), its size, whether a folder."""

    name: str
    size: int
    folder: bool


def _refused(name: str, why: str) -> ValidationError:
    shown = "".join(c if c.isprintable() else "?" for c in name[:200])
    return ValidationError(f"archive member {shown!r} {why}; nothing was extracted", field="archive", value=shown)


def _relative(name: str) -> str:
    """The member's path below the root, or ValidationError naming it."""
    if not name or "\x00" in name:
        raise _refused(name, "has an empty name or a NUL character")
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise _refused(name, "has an absolute path; members must be relative to the archive's root")
    parts = [p for p in re.split(r"[/\\]", name) if p not in ("", ".")]
    if ".." in parts:
        raise _refused(name, "has a '..' component, which leads out of the archive")
    if not parts:
        raise _refused(name, "names the archive's root")
    if any(len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for part in parts):
        raise _refused(name, f"has a name longer than {MAX_NAME_BYTES} bytes, which no filesystem here holds")
    return "/".join(parts)


def _zip_member(info: zipfile.ZipInfo) -> Member:
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if stat.S_ISLNK(mode):
        raise _refused(info.filename, "is a symbolic link; only files and folders are extracted")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise _refused(info.filename, "is a device, FIFO or socket; only files and folders are extracted")
    if info.flag_bits & 0x1:
        raise _refused(info.filename, "is encrypted; upload it unencrypted")
    if info.compress_type not in _ZIP_METHODS:
        raise _refused(info.filename, f"is compressed with method {info.compress_type}, which labelport cannot read")
    return Member(_relative(info.filename), info.file_size, info.is_dir() or kind == stat.S_IFDIR)


def _tar_member(info: tarfile.TarInfo) -> Member:
    if info.issym() or info.islnk():
        link = "symbolic" if info.issym() else "hard"
        target = info.linkname[:200]
        raise _refused(info.name, f"is a {link} link (to {target!r}); only files and folders are extracted")
    if not (info.isreg() or info.isdir()):
        raise _refused(info.name, "is a device, FIFO or socket; only files and folders are extracted")
    return Member(_relative(info.name), info.size, info.isdir())


@contextmanager
def _reading() -> Iterator[None]:
    """The archive readers' errors on damaged input as a ValidationError (ours pass through)."""
    try:
        yield
    except LabelportError:
        raise
    except _DAMAGED as exc:
        reason = str(exc)[:200] or type(exc).__name__
        raise ValidationError(f"the archive is damaged ({reason})", field="archive") from None


@contextmanager
def _opened(path: Path) -> Iterator[Iterator[tuple[Member, IO[bytes] | None]]]:
    """Each member with, for a file, a stream of its content (read it before taking the next member)."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zipped_archive:

            def zipped() -> Iterator[tuple[Member, IO[bytes] | None]]:
                for info in zipped_archive.infolist():
                    member = _zip_member(info)
                    if member.folder:
                        yield member, None
                    else:
                        with zipped_archive.open(info) as stream:
                            yield member, stream

            yield zipped()
        return
    try:
        archive = tarfile.open(path, mode="r:*")  # noqa: SIM115 - closed by the with below
    except (tarfile.TarError, OSError, EOFError):
        raise ValidationError(
            "the upload is not a zip or tar archive (tar, tar.gz, tar.bz2, tar.xz)", field="archive"
        ) from None
    with archive:

        def tarred() -> Iterator[tuple[Member, IO[bytes] | None]]:
            for info in archive:
                member = _tar_member(info)
                yield member, None if member.folder else archive.extractfile(info)

        yield tarred()


def _counted(
    members: Iterator[tuple[Member, IO[bytes] | None]], max_bytes: int, max_members: int
) -> Iterator[tuple[Member, IO[bytes] | None]]:
    """The members, stopped with a ValidationError at the caps, at a file given twice, or at a name that is
    a file and a folder (``a`` a file and ``a/b`` a member: nothing could extract both)."""
    files: set[str] = set()
    folders: set[str] = set()
    total = 0
    for count, (member, stream) in enumerate(members, start=1):
        if count > max_members:
            raise ValidationError(
                f"the archive has more than {max_members} members, the most this server takes", field="archive"
            )
        if member.name in files:
            raise _refused(member.name, "appears twice" if not member.folder else "is a file and a folder")
        if not member.folder and member.name in folders:
            raise _refused(member.name, "is a file and a folder")
        parts = member.name.split("/")
        above = {"/".join(parts[:i]) for i in range(1, len(parts))}
        if above & files:
            raise _refused(member.name, f"lies under {min(above & files)!r}, which is a file")
        (folders if member.folder else files).add(member.name)
        folders |= above
        total += member.size
        if total > max_bytes:
            raise ValidationError(
                f"the archive's files add up to more than {max_bytes} bytes uncompressed, the most this server "
                f"takes (at member {member.name!r})",
                field="archive",
            )
        yield member, stream


def check(path: Path, *, max_bytes: int, max_members: int = MAX_MEMBERS) -> list[Member]:
    """The archive's members, every one checked (see the module); ValidationError naming the first refused."""
    with _reading(), _opened(path) as members:
        return [m for m, _ in _counted(members, max_bytes, max_members)]


def extract(path: Path, folder: Path, *, max_bytes: int, max_members: int = MAX_MEMBERS) -> list[Member]:
    """Check the archive, then extract it into ``folder`` (which must not exist yet); on any error the folder
    is removed. Returns the members."""
    members = check(path, max_bytes=max_bytes, max_members=max_members)
    folder.mkdir(parents=True)
    written = 0
    try:
        with _reading(), _opened(path) as opened:
            for member, stream in _counted(opened, max_bytes, max_members):
                target = folder.joinpath(*member.name.split("/"))
                if stream is None:
                    _made(member, lambda: target.mkdir(parents=True, exist_ok=True))  # noqa: B023 - called at once
                    continue
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                _made(member, lambda: target.parent.mkdir(parents=True, exist_ok=True))  # noqa: B023
                handle = _made(member, lambda: os.open(target, flags, 0o600))  # noqa: B023
                with os.fdopen(handle, "wb") as out:
                    for block in iter(lambda: stream.read(BLOCK), b""):  # noqa: B023 - read before the next member
                        written += len(block)
                        if written > max_bytes:
                            raise _refused(member.name, f"inflates past {max_bytes} bytes, the most this server takes")
                        try:
                            out.write(block)
                        except OSError as exc:  # the server's disk, not the archive
                            raise StoreError(f"the upload could not be extracted ({exc.strerror})") from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return members


def _made(member: Member, make: Callable[[], T]) -> T:
    """``make()`` for a member; a name this filesystem refuses (too long, a clash) refuses the member."""
    try:
        return make()
    except OSError as exc:
        raise _refused(member.name, f"cannot be extracted here ({exc.strerror or type(exc).__name__})") from None


__all__ = ["MAX_MEMBERS", "Member", "check", "extract"]
