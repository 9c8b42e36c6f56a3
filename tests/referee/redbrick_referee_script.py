"""Runs inside the redbrick-sdk 2.35.4 venv (``.venv-redbrick``): a JSON request on stdin, results on stdout.

Request: ``{"uploads": [...], "downloads": [...], "result": path}``; the results are written to ``result``
(the SDK logs to stdout).

- an upload is ``{"files": [paths], "instances": {"1": null | [groups]}, "binary": bool, "masks": {"1": path},
  "label_validate": bool, "prune": bool, "out": path}``: ``process_upload`` runs and its merged file (when
  it made one, or the input it returned) is copied to ``out``; the result is ``{"file": out | null,
  "instances": {...}, "error": str | null}``;
- a download is ``{"labels": [...], "file": path, "semantic": bool, "binary": bool | null}``:
  ``process_download`` runs on ``file`` (a copy the caller made) and the result is its ``LabelMapData``
  with the paths it wrote.

Nothing here imports labelport: this is the vendor's code judging ours.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from typing import Any

os.environ.setdefault("REDBRICK_DISABLE_VERSION_CHECK", "1")


def upload(spec: dict[str, Any]) -> dict[str, Any]:
    from redbrick.utils.nifti import process_upload

    instances = {int(k): v for k, v in spec["instances"].items()}
    path, seg_map, error = process_upload(
        spec["files"],
        instances,
        spec["binary"],
        False,
        spec.get("masks") or {},
        label_validate=spec["label_validate"],
        prune_segmentations=spec["prune"],
    )
    out = None
    if path is not None:
        out = spec["out"]
        shutil.copyfile(path, out)
    return {
        "file": out,
        "instances": {str(k): sorted(v) if v else None for k, v in seg_map.items()},
        "error": error,
    }


def download(spec: dict[str, Any]) -> dict[str, Any]:
    from redbrick.utils.nifti import process_download

    result = process_download(spec["labels"], spec["file"], False, {}, spec["semantic"], spec["binary"], False, None)
    masks = result["masks"]
    return {
        "semantic_mask": result["semantic_mask"],
        "binary_mask": result["binary_mask"],
        "masks": [masks] if isinstance(masks, str) else sorted(masks or []),
    }


def main() -> None:
    request = json.loads(sys.stdin.read())
    results = {
        "uploads": [upload(spec) for spec in request.get("uploads", ())],
        "downloads": [download(spec) for spec in request.get("downloads", ())],
    }
    with open(request["result"], "w") as out:
        json.dump(results, out)


if __name__ == "__main__":
    main()
