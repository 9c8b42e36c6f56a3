"""Which local files the service reads for its users, and how it opens them.

One rule for every file a user names (a data row's ``row_data``, a mask file's URL, a segmentation
file, the files of a DICOM series):

- the path is resolved first (``..`` and symlinks followed), and the resolved path is what the roots are
  checked against, so a symlink cannot lead out of them;
- it must lie under one of the permitted folders (``FilePolicy.roots``; ``None`` means anywhere, for the
  embedded client a local user runs) and under none of the protected ones (the store's home);
- only regular files are opened (a FIFO, a device or a socket would block or never end), opened without
  blocking and checked again once open;
- errors name the reference as the user gave it, never a resolved path, a root or the working folder, and
  say the same whether a file outside the roots exists or not.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from labelport.errors import MediaError, ValidationError
from labelport.service.hub import Settings

# Longer references are not paths anyone means (Linux allows 4096 bytes per path).
MAX_PATH_CHARACTERS = 4096
OUTSIDE = "is outside the folders labelport may read (LABELPORT_FILE_ROOTS)"
NO_LOCAL_FILES = "names a local file, and this server reads none: its administrator sets LABELPORT_FILE_ROOTS"


@dataclass(frozen=True, slots=True)
class FilePolicy:
    """Permitted folders (``None``: anywhere) and protected ones; see the module's rules."""

    roots: tuple[Path, ...] | None
    protected: tuple[Path, ...] = ()
    expand_user: bool = True

    @classmethod
    def under(cls, roots: Sequence[Path], protected: Sequence[Path] = ()) -> FilePolicy:
        """Files under ``roots`` (resolved here), none under ``protected``."""
        return cls(_resolved(roots), _resolved(protected) or ())

    @classmethod
    def for_rows(cls, settings: Settings) -> FilePolicy:
        """Data rows: under ``file_roots`` when set or when serving; embedded without roots, anywhere."""
        roots = settings.file_roots if settings.file_roots or settings.serving else None
        return cls(_resolved(roots), _resolved(settings.protected) or (), expand_user=not settings.serving)

    @classmethod
    def for_imports(cls, settings: Settings, extra: Sequence[Path] = ()) -> FilePolicy:
        """Files an import names: ``file_roots`` and ``extra`` (the imported file's folder); embedded also
        the working folder. A server never adds its working folder (it holds the store)."""
        roots = [*settings.file_roots, *extra]
        if not settings.serving:
            roots.append(Path.cwd())
        return cls(_resolved(roots), _resolved(settings.protected) or (), expand_user=not settings.serving)

    def path(self, reference: str | os.PathLike[str], what: str, *, base: Path | None = None) -> Path:
        """The resolved path ``reference`` names, if it may be read and exists (a file or a folder).

        Raises ValidationError (unusable reference, outside the roots) or MediaError (does not exist).
        """
        text = os.fspath(reference)
        shown = _shown(text)
        if not text:
            raise ValidationError(f"{what} is empty", field="uri", value=text)
        if "\x00" in text:
            raise ValidationError(f"{what} {shown} contains a NUL character", field="uri", value=shown)
        if len(text) > MAX_PATH_CHARACTERS:
            raise ValidationError(
                f"{what} is {len(text)} characters long; a path has at most {MAX_PATH_CHARACTERS}",
                field="uri",
                value=text[:80] + "...",
            )
        if self.roots == ():
            raise ValidationError(f"{what} {shown} {NO_LOCAL_FILES}", field="uri", value=text)
        path = Path(text)
        if self.expand_user and text.startswith("~"):
            try:
                path = path.expanduser()
            except RuntimeError:
                raise MediaError(f"{what} {shown} names an unknown user's home folder", path=text) from None
        if not path.is_absolute() and base is not None:
            path = base / path
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop, a name too long for the filesystem
            raise MediaError(f"{what} {shown} cannot be resolved ({_reason(exc)})", path=text) from None
        self._check_inside(resolved, what, shown, text)
        try:
            exists = resolved.exists()
        except OSError as exc:
            raise MediaError(f"{what} {shown} cannot be read ({_reason(exc)})", path=text) from None
        if not exists:
            raise MediaError(f"{what} {shown} does not exist", path=text)
        return resolved

    def _check_inside(self, resolved: Path, what: str, shown: str, text: str) -> None:
        inside = self.roots is None or any(resolved.is_relative_to(root) for root in self.roots)
        if not inside or any(resolved.is_relative_to(p) for p in self.protected):
            raise ValidationError(f"{what} {shown} {OUTSIDE}", field="uri", value=text)

    def regular_file(self, reference: str | os.PathLike[str], what: str, *, base: Path | None = None) -> Path:
        """``path`` for a regular file only (not a folder, FIFO, device or socket)."""
        resolved = self.path(reference, what, base=base)
        _require_regular(resolved, what, _shown(os.fspath(reference)), os.fspath(reference))
        return resolved

    def file_or_folder(self, reference: str | os.PathLike[str], what: str, *, base: Path | None = None) -> Path:
        """``path`` for a regular file or a folder."""
        resolved = self.path(reference, what, base=base)
        if not resolved.is_dir():
            _require_regular(resolved, what, _shown(os.fspath(reference)), os.fspath(reference))
        return resolved

    def folder_files(self, folder: Path, what: str, shown: str, skip: Collection[str] = ()) -> list[Path]:
        """The regular files of a (resolved, checked) folder, resolved, by name; hidden ones and ``skip`` left
        out. An entry that is a symlink leading outside the roots fails the whole folder, naming the entry."""
        try:
            entries = sorted(folder.iterdir())
        except OSError as exc:
            raise MediaError(f"{what} {shown} cannot be listed ({_reason(exc)})", path=str(folder)) from None
        files = []
        for entry in entries:
            if entry.name.startswith(".") or entry.name in skip:
                continue
            named = f"{shown[:-1]}/{entry.name}'" if shown.endswith("'") else f"{shown}/{entry.name}"
            try:
                resolved = entry.resolve()
                kind = resolved.stat().st_mode
            except (OSError, RuntimeError):
                continue  # a dangling symlink or an entry gone meanwhile: not a file of the series
            self._check_inside(resolved, what, named, str(entry))
            if stat.S_ISREG(kind):
                files.append(resolved)
        return files

    def read_bytes(self, reference: str, what: str, limit: int, *, base: Path | None = None) -> bytes:
        """The content of a permitted regular file, at most ``limit`` bytes (more is an error)."""
        path = self.regular_file(reference, what, base=base)
        return read_regular(path, what, _shown(reference), limit)


def read_regular(path: Path, what: str, shown: str, limit: int) -> bytes:
    """Read a regular file, opened without blocking and checked once open (a FIFO swapped in meanwhile is
    refused, not waited on); at most ``limit`` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise MediaError(f"{what} {shown} cannot be opened ({_reason(exc)})", path=shown) from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise MediaError(f"{what} {shown} is not a regular file", path=shown)
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise MediaError(f"{what} {shown} cannot be read ({_reason(exc)})", path=shown) from None
    if len(data) > limit:
        raise ValidationError(f"{what} {shown} is larger than {limit} bytes", field="uri", value=shown)
    return data


def _require_regular(path: Path, what: str, shown: str, text: str) -> None:
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise MediaError(f"{what} {shown} cannot be read ({_reason(exc)})", path=text) from None
    if stat.S_ISDIR(mode):
        raise MediaError(f"{what} {shown} is a folder, not a file", path=text)
    if not stat.S_ISREG(mode):
        raise MediaError(f"{what} {shown} is not a regular file (a pipe, device or socket)", path=text)


def _resolved(paths: Sequence[Path] | None) -> tuple[Path, ...] | None:
    if paths is None:
        return None
    out = []
    for path in paths:
        try:
            out.append(Path(path).resolve())
        except (OSError, RuntimeError):
            continue
    return tuple(dict.fromkeys(out))


def _shown(text: str) -> str:
    """The reference for a message: quoted, shortened, without control characters."""
    clean = "".join(c if c.isprintable() else "?" for c in text[:200])
    return repr(clean + ("..." if len(text) > 200 else ""))


def _reason(exc: BaseException) -> str:
    """An OS error's reason without the path it names (which may be a resolved server path)."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return os.strerror(exc.errno) if exc.errno != errno.ELOOP else "too many levels of symbolic links"
    return type(exc).__name__


__all__ = ["MAX_PATH_CHARACTERS", "FilePolicy", "read_regular"]
