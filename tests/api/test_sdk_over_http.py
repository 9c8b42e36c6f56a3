"""The SDK suite (tests/sdk) once more, against a real uvicorn on 127.0.0.1 through HttpBackend."""

from __future__ import annotations

from pathlib import Path

from labelport.sdk import Client
from tests.sdk import test_guide_workflow as guide


def test_guide_workflow_over_http(http_client: Client, tmp_path: Path) -> None:
    guide.test_guide_workflow_end_to_end(http_client, tmp_path)


def test_dicom_series_as_a_list_of_files_over_http(http_client: Client) -> None:
    guide.test_dicom_series_as_a_list_of_files(http_client)
