"""What the DICOM formats share beyond the series: highdicom imported lazily (an error names the extra to
install), reading a DICOM input (a path, bytes or a stream) and detecting it by its SOP class."""

from __future__ import annotations

import io
import struct
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

from pydicom.errors import BytesLengthException

from labelport.errors import LabelportError, Location, MediaError
from labelport.formats.base import Detection, Problem, ReadContext, Source
from labelport.model.item import LabeledItem

EXTRA = "dicom"

# What pydicom and highdicom raise on malformed objects (a missing or misshapen element is found only when it
# is read): a reader turns them into a located problem for that object, never a crash of the whole input.
MALFORMED: tuple[type[Exception], ...] = (
    BytesLengthException,
    OSError,  # pydicom reading a deferred sequence past the data: "No tag to read at file position ..."
    AttributeError,
    KeyError,
    IndexError,
    TypeError,
    ValueError,
    NotImplementedError,
    OverflowError,
    struct.error,
    EOFError,
)


def malformed(what: str, exc: Exception) -> str:
    """A problem's message for a malformed DICOM object: what it is and the library's reason, shortened."""
    reason = str(exc) if len(str(exc)) <= 200 else str(exc)[:200] + "..."
    return f"malformed {what}: {type(exc).__name__} ({reason})"


def highdicom(feature: str) -> Any:
    """The highdicom module, or a LabelportError naming ``feature`` and the extra that installs it."""
    try:
        import highdicom as hd
    except ImportError as exc:
        raise LabelportError(
            f"{feature} needs highdicom, which is not installed: pip install 'labelport[{EXTRA}]'"
        ) from exc
    return hd


def _is_dicom_head(head: bytes) -> bool:
    return len(head) >= 132 and head[128:132] == b"DICM"


def dicom_inputs(source: Source) -> Iterator[tuple[str, Any]]:
    """(name, readable) for each DICOM input: a file, each DICOM file of a folder, bytes or a binary stream."""
    if isinstance(source, str | Path):
        path = Path(source)
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.is_file() and not child.name.startswith(".") and _is_dicom_head(_head(child)):
                    yield str(child), child
            return
        yield str(path), path
        return
    if isinstance(source, bytes):
        yield "<bytes>", io.BytesIO(source)
        return
    if hasattr(source, "read"):
        yield str(getattr(source, "name", "<stream>")), source
        return
    raise MediaError("a DICOM object is read from a file, a folder, bytes or a binary stream")


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(132)


def sop_classes(source: Source) -> list[str] | None:
    """The SOP class UIDs of the DICOM inputs of ``source`` (headers only), or None when it holds none."""
    import pydicom

    if isinstance(source, str | Path) and Path(source).is_file() and not _is_dicom_head(_head(Path(source))):
        return None
    if isinstance(source, bytes) and not _is_dicom_head(source[:132]):
        return None
    found: list[str] = []
    position = None
    stream: Any = source
    if hasattr(source, "read") and not isinstance(source, str | Path | bytes):
        if not stream.seekable():
            return None
        position = stream.tell()
        head = stream.read(132)
        stream.seek(position)
        if not _is_dicom_head(head):
            return None
    try:
        for _name, readable in dicom_inputs(source):
            try:
                ds = pydicom.dcmread(readable, stop_before_pixels=True, specific_tags=["SOPClassUID"])
                uid = ds.get("SOPClassUID")  # converted as it is read: a malformed element fails here
            except Exception:
                continue
            if uid:
                found.append(str(uid))
    finally:
        if position is not None:
            stream.seek(position)
    return found or None


def read_objects(
    source: Source,
    ctx: ReadContext,
    classes: Collection[str],
    what: str,
    item_of: Callable[[Any, str, ReadContext], LabeledItem],
) -> Iterator[LabeledItem | Problem]:
    """One item per DICOM object of ``source`` whose SOP class is one of ``classes``, made by ``item_of(ds,
    name, ctx)``; an object that is unreadable, of another class, refused or malformed is a Problem naming
    its file (``what`` names the kind, with its article: "a DICOM SEG"), and the others still come."""
    import pydicom

    for name, readable in dicom_inputs(source):
        try:
            ds = pydicom.dcmread(readable)
            sop = str(ds.get("SOPClassUID", ""))  # converted as it is read: a malformed element fails here
        except Exception as exc:
            yield Problem(Location(name), f"not a readable DICOM file ({exc})")
            continue
        if sop not in classes:
            yield Problem(Location(name), f"not {what} (SOP class {sop})", sop)
            continue
        try:
            yield item_of(ds, name, ctx)
        except LabelportError as exc:
            yield Problem(Location(name), str(exc))
        except MALFORMED as exc:
            yield Problem(Location(name), malformed(what.split(" ", 1)[1], exc))


def detect_sop_class(source: Source, classes: dict[str, str], what: str) -> Detection:
    """Detection by SOP class: every DICOM input of ``source`` is one of ``classes`` (uid -> name)."""
    if isinstance(source, str | Path) and not Path(source).exists():
        return Detection(0.0, f"{source} does not exist")
    if not isinstance(source, str | Path | bytes) and not hasattr(source, "read"):
        return Detection(0.0, "not a DICOM file (a list of records)")
    try:
        found = sop_classes(source)
    except OSError as exc:
        return Detection(0.0, f"cannot read the input: {exc}")
    if not found:
        return Detection(0.0, "no DICOM object with a SOP class")
    ours = [uid for uid in found if uid in classes]
    if not ours:
        return Detection(0.0, f"DICOM, but SOP class {found[0]} is not {what}")
    names = ", ".join(sorted({classes[uid] for uid in ours}))
    confidence = 0.99 if len(ours) == len(found) else 0.6
    return Detection(confidence, f"{len(ours)} of {len(found)} DICOM objects are {names}")


__all__ = [
    "EXTRA",
    "MALFORMED",
    "detect_sop_class",
    "dicom_inputs",
    "highdicom",
    "malformed",
    "read_objects",
    "sop_classes",
]
