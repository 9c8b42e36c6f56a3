"""Over HTTP, a data row's creator is the user whose key created it, and the export names them."""

from __future__ import annotations

from pathlib import Path

from labelport.service.synthetic import write_image
from tests.api.server import LiveServer, connected


def test_export_details_name_the_creator_of_the_row(live_server: LiveServer, tmp_path: Path) -> None:
    with connected(live_server, live_server.key("ana@example.org", admin=True)) as client:
        image = write_image(tmp_path / "a.png", 8, 6)
        dataset = client.create_dataset("d")
        assert dataset.create_data_rows([{"row_data": str(image), "global_key": "a"}]).errors is None
        ontology = client.create_ontology("o", {"tools": [{"tool": "rectangle", "name": "box"}]}, media_type="image")
        project = client.create_project("p", media_type="image")
        project.connect_ontology(ontology)
        project.create_batch("b", global_keys=["a"])
        [row] = project.export(params={"data_row_details": True}).result
        assert row["data_row"]["details"]["created_by"] == "ana@example.org"
