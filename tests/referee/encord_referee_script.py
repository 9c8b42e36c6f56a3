"""Runs inside an Encord referee venv (``encord`` at a pinned version): every case of the request on stdin is
read with the SDK, offline, and written back (notes/encord.md section 9).

Request: ``{"cases": [{"ontology": <structure>, "row": <label row dict>}, ...]}``. Reply on stdout:
``{"version": ..., "results": [{"ontology": <to_dict()>, "row": <to_encord_dict()>} | {"error": "..."}]}``.
Kept free of labelport imports: it runs with the SDK's own dependencies only.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import socket
import sys
import traceback
from datetime import datetime
from typing import Any


def _no_network(*_args: Any, **_kwargs: Any) -> None:
    raise OSError("the referee runs offline")


def _metadata(row: dict[str, Any]) -> Any:
    from encord.orm.label_row import AnnotationTaskStatus, LabelRowMetadata, LabelStatus

    unit = next(iter(row["data_units"].values()))
    frames = [int(k) for k in (unit.get("labels") or {}) if str(k).isdigit()]
    values = {
        "label_hash": row["label_hash"],
        "created_at": None,
        "last_edited_at": None,
        "branch_name": "main",
        "data_hash": row["data_hash"],
        "dataset_hash": row.get("dataset_hash", ""),
        "dataset_title": row.get("dataset_title", ""),
        "data_title": row["data_title"],
        "data_type": row["data_type"].upper(),
        "data_link": unit.get("data_link"),
        "label_status": LabelStatus.LABEL_IN_PROGRESS,
        "annotation_task_status": AnnotationTaskStatus.QUEUED,
        "workflow_graph_node": None,
        "is_shadow_data": False,
        "frames_per_second": unit.get("data_fps"),
        "number_of_frames": max(frames, default=0) + 1 if frames else len(row["data_units"]),
        "duration": unit.get("data_duration"),
        "height": unit.get("height"),
        "width": unit.get("width"),
        "audio_sample_rate": None,
        "audio_codec": None,
        "audio_bit_depth": None,
        "audio_num_channels": None,
        "spaces": {},
    }
    names = {f.name for f in dataclasses.fields(LabelRowMetadata)}
    return LabelRowMetadata(**{k: v for k, v in values.items() if k in names})


def _case(case: dict[str, Any]) -> dict[str, Any]:
    from encord.objects import LabelRowV2, OntologyStructure
    from encord.ontology import Ontology
    from encord.orm.ontology import Ontology as OrmOntology

    structure = OntologyStructure.from_dict(copy.deepcopy(case["ontology"]))
    out: dict[str, Any] = {"ontology": structure.to_dict()}
    row = case.get("row")
    if row is not None:
        stamp = datetime(2024, 1, 1)
        ontology = Ontology(OrmOntology("t", structure, "h", stamp, stamp), None)
        label_row = LabelRowV2(_metadata(row), None, ontology)
        label_row.from_labels_dict(copy.deepcopy(row))
        out["row"] = label_row.to_encord_dict()
    return out


def main() -> None:
    socket.socket.connect = _no_network  # type: ignore[method-assign]
    import encord

    request = json.loads(sys.stdin.read())
    results = []
    for case in request["cases"]:
        try:
            results.append(_case(case))
        except Exception:
            results.append({"error": traceback.format_exc()})
    version = getattr(encord, "__version__", None)
    json.dump({"version": version, "results": results}, sys.stdout, default=str)


if __name__ == "__main__":
    main()
