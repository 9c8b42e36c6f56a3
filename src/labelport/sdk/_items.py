"""Items lists that bring their media, as the SDK takes them: an items file, a folder holding ``items.json``
(or the file named), or an archive of them; and packing a list with the files it names into one archive
to upload. Light: neither the service nor SQLAlchemy."""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path

import orjson

from labelport.errors import MediaError, ValidationError

ITEMS_FILE = "items.json"


def is_archive(path: Path) -> bool:
    """Whether ``path`` is a zip or tar archive (by content, not name)."""
    return path.is_file() and (zipfile.is_zipfile(path) or tarfile.is_tarfile(path))


def items_path(path: Path, named: str | None) -> Path:
    """The items file ``path`` means: a folder's ``named`` file (default ``items.json``), or ``path``."""
    found = path / (named or ITEMS_FILE) if path.is_dir() else path
    if not found.is_file():
        raise MediaError(f"items file {str(found)!r} does not exist", path=str(found))
    return found


def pack(items: Path, archive: Path, fmt: str = "redbrick") -> None:
    """Write a zip of the items list (as ``items.json`` at its root) and every local file or folder it names,
    each as ``files/<n>/<its name>`` with the list's references renamed to match. URLs, and paths that do
    not exist here, are left as they are (the server reports them in their tasks)."""
    from labelport.formats import get_format

    rename_files = get_format(fmt, reading=True).module.with_files  # type: ignore[attr-defined]
    base = items.absolute().parent
    names: dict[Path, str] = {}

    def rename(reference: str) -> str:
        if "://" in reference:
            return reference
        path = Path(reference).expanduser()
        path = (path if path.is_absolute() else base / path).resolve()
        if not path.exists():
            return reference
        return names.setdefault(path, f"files/{len(names)}/{path.name}")

    try:
        parsed = orjson.loads(items.read_bytes())
    except orjson.JSONDecodeError as exc:
        shown = str(items)
        raise ValidationError(f"items file {shown!r} is not JSON ({exc})", field="items", value=shown) from None
    tasks = rename_files(parsed, rename)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        out.writestr(ITEMS_FILE, orjson.dumps(tasks, option=orjson.OPT_INDENT_2))
        for path, name in names.items():
            files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
            for file in files:
                if not file.name.startswith(".") or file == path:
                    out.write(file, name if file == path else f"{name}/{file.name}")


__all__ = ["ITEMS_FILE", "is_archive", "items_path", "pack"]
