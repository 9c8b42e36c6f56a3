"""The web viewer in a real browser (Debian's chromium through Playwright) against a live server, on SQLite and
on PostgreSQL: sign in, open the demo series, find the README's polyline where its pixel coordinates say, a
sagittal mask on its pixels and, through the crosshair, on the axial plane, review rows, watch jobs.

Screen positions are computed from the stage (the element the slice image fills): plane pixel (x, y) is at
``stage.left + x * stage.width / width`` (pixel (c, r) covers [c, c+1) x [r, r+1)). Screenshots go to
``build/artifacts/viewer/`` (``LABELPORT_ARTIFACTS``).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from labelport.service import auth
from labelport.service import jobs as service_jobs
from labelport.service.hub import Hub
from tests.web.conftest import ARTIFACTS
from tests.web.world import (
    BAD_FRAME_UUID,
    MASK_UUID,
    OUT_OF_RANGE_UUID,
    POLYLINE_UUID,
    PRELABEL_UUID,
    SAGITTAL_MASK,
    VIDEO_LINE_UUID,
    World,
)

pytestmark = pytest.mark.browser

SIZES = {"axial": (64, 64), "sagittal": (64, 16), "coronal": (64, 16)}  # (width, height) of the phantom's planes
GREEN = (0, 255, 0)  # line_dicom's colour in the demo ontology


def sign_in(page: Any, world: World, who: str = "admin") -> None:
    page.goto(world.server.url + "/")
    page.fill("#api-key", world.keys[who])
    page.click("form.signin button[type=submit]")
    page.wait_for_selector("#projects")


def open_row(page: Any, world: World, row_id: str) -> None:
    page.goto(f"{world.server.url}/#/projects/{world.project_id}/rows/{row_id}")
    for plane in SIZES:
        page.wait_for_selector(f'.pane[data-plane="{plane}"][data-slice-frame]')


def wait_frame(page: Any, plane: str, frame: int) -> None:
    page.wait_for_selector(f'.pane[data-plane="{plane}"][data-frame="{frame}"][data-slice-frame="{frame}"]')


def stage(page: Any, plane: str) -> dict[str, float]:
    box: dict[str, float] = page.locator(f'.pane[data-plane="{plane}"] .stage').bounding_box()
    return box


def screen(page: Any, plane: str, x: float, y: float) -> tuple[float, float]:
    """Where plane pixel coordinates (x, y) are on the screen."""
    box = stage(page, plane)
    width, height = SIZES[plane]
    return box["x"] + x * box["width"] / width, box["y"] + y * box["height"] / height


def click_pixel(page: Any, plane: str, x: float, y: float) -> None:
    page.mouse.click(*screen(page, plane, x, y))


def shot(page: Any) -> np.ndarray[Any, Any]:
    return np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB")).astype(int)


def color_at(image: np.ndarray[Any, Any], point: tuple[float, float]) -> tuple[int, int, int]:
    r, g, b = image[int(point[1]), int(point[0])]
    return int(r), int(g), int(b)


def is_red(rgb: tuple[int, int, int]) -> bool:
    r, g, b = rgb
    return r > g + 60 and r > b + 60


def save(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def test_sign_in_lists_projects_with_their_workflow_counts(page: Any, world: World) -> None:
    page.goto(world.server.url + "/")
    assert page.locator("#api-key").get_attribute("type") == "password"
    sign_in(page, world)
    row = page.locator(f'#projects tr[data-project="{world.project_id}"]')
    assert row.locator("td").first.inner_text() == "demo: DICOM segmentation"
    # Both series got ground truth, so both are in review.
    assert row.locator('td[data-status="InReview"]').inner_text() == "2"
    assert "lp_" not in page.url
    assert page.evaluate("sessionStorage.getItem('labelport.apiKey')") == world.keys["admin"]


def test_the_readme_polyline_is_drawn_on_axial_frame_8_at_its_pixels(page: Any, world: World) -> None:
    sign_in(page, world)
    page.click("text=demo: DICOM segmentation")
    page.click('#rows a:text("demo/phantom-series")')
    for plane in SIZES:
        page.wait_for_selector(f'.pane[data-plane="{plane}"][data-slice-frame]')
    letters = page.locator('.pane[data-plane="axial"] .letter').all_inner_texts()
    assert sorted(letters) == ["A", "L", "P", "R"]
    wait_frame(page, "axial", 8)  # the middle of 16 slices: Labelbox frame 9
    assert page.locator('.pane[data-plane="axial"] polyline.kind-ground_truth').count() == 0

    # One wheel step up: Labelbox frame 8 (labelport frame 7), where the README's polyline lies.
    page.mouse.move(*screen(page, "axial", 32, 32))
    page.mouse.wheel(0, -100)
    wait_frame(page, "axial", 7)
    assert "Labelbox 8" in page.locator('.pane[data-plane="axial"] .frame-label').inner_text()
    line = page.locator(f'.pane[data-plane="axial"] polyline[data-uuid="{POLYLINE_UUID}"]')
    assert line.count() == 1
    points = line.evaluate(
        "el => { const m = el.getScreenCTM();"
        " return Array.from(el.points).map(p => { const q = p.matrixTransform(m); return [q.x, q.y]; }); }"
    )
    expected = [screen(page, "axial", 10, 30), screen(page, "axial", 50, 40)]
    assert np.allclose(points, expected, atol=0.5), (points, expected)
    # The pixels on screen are the line's colour along it (away from the crosshair).
    image = shot(page)
    for t in (0.2, 0.35, 0.8):
        x, y = 10 + 40 * t, 30 + 10 * t
        r, g, b = color_at(image, screen(page, "axial", x, y))
        assert g > 150 and r < 120 and b < 120, (t, (r, g, b))
    # The pre-label on the same frame is drawn dashed, and hides with its toggle.
    prelabel = page.locator(f'.pane[data-plane="axial"] polyline[data-uuid="{PRELABEL_UUID}"]')
    assert prelabel.count() == 1 and "kind-prediction" in (prelabel.get_attribute("class") or "")
    page.uncheck('input[data-toggle="prediction"]')
    assert prelabel.count() == 0 and line.count() == 1
    page.check('input[data-toggle="prediction"]')

    # Hovering the polyline names its feature and the import it came from.
    page.mouse.move(*screen(page, "axial", 30, 35))
    tooltip = page.locator(".tooltip")
    tooltip.wait_for(state="visible")
    text = tooltip.inner_text()
    assert "line_dicom" in text and "ground truth" in text and "readme-example" in text and "readme.ndjson" in text


def test_a_sagittal_mask_shows_on_its_pixels_and_through_the_crosshair_on_the_axial_plane(
    page: Any, world: World
) -> None:
    sign_in(page, world)
    open_row(page, world, world.series_id)
    wait_frame(page, "axial", 8)
    # A click on axial column 4 puts the crosshair there: the sagittal plane shows frame 4 (Labelbox 5).
    click_pixel(page, "axial", 4.5, 30.5)
    wait_frame(page, "sagittal", 4)
    assert "Labelbox 5" in page.locator('.pane[data-plane="sagittal"] .frame-label').inner_text()
    mask = page.locator(f'.pane[data-plane="sagittal"] img.mask[data-uuid="{MASK_UUID}"][data-frame="4"]')
    mask.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth === 64", arg=mask.element_handle())
    page.uncheck('input[data-toggle="crosshair"]')
    image = shot(page)
    rows, columns = np.nonzero(SAGITTAL_MASK)
    for y, x in ((rows.min(), columns.min()), (rows.max(), columns.max()), (6, 30)):
        assert is_red(color_at(image, screen(page, "sagittal", x + 0.5, y + 0.5))), (x, y)
    for y, x in ((rows.min() - 1, columns.min()), (6, columns.max() + 1), (6, 10)):
        assert not is_red(color_at(image, screen(page, "sagittal", x + 0.5, y + 0.5))), (x, y)
    page.check('input[data-toggle="crosshair"]')

    # A click on the mask in the sagittal plane moves the crosshair there: the axial plane goes to the
    # matching slice (row 5 from the top = slice 15 - 5) and shows the mask at that row of column 4.
    click_pixel(page, "sagittal", 25.5, 5.5)
    wait_frame(page, "axial", 10)
    assert page.locator('.pane[data-plane="axial"]').get_attribute("data-cross") == "4.500,25.500"
    axial_mask = page.locator(f'.pane[data-plane="axial"] img.mask[data-uuid="{MASK_UUID}"][data-frame="10"]')
    axial_mask.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth === 64", arg=axial_mask.element_handle())
    page.uncheck('input[data-toggle="crosshair"]')
    image = shot(page)
    assert is_red(color_at(image, screen(page, "axial", 4.5, 25.5)))
    assert is_red(color_at(image, screen(page, "axial", 4.5, 20.5)))  # the mask's first posterior column
    assert not is_red(color_at(image, screen(page, "axial", 4.5, 15.5)))  # anterior of it
    assert not is_red(color_at(image, screen(page, "axial", 6.5, 25.5)))  # another sagittal slice
    page.check('input[data-toggle="crosshair"]')


def test_window_presets_and_the_three_plane_screenshot(page: Any, world: World) -> None:
    sign_in(page, world)
    open_row(page, world, world.series_id)
    readout = page.locator("#window-readout")
    page.click('button[data-preset="ct-bone"]')
    page.wait_for_function("() => document.querySelector('#window-readout').textContent === 'W 1800 L 400'")
    page.click('button[data-preset="auto"]')
    page.wait_for_function("() => document.querySelector('#window-readout').textContent.startsWith('W ')")
    auto = readout.inner_text()
    # A right-button drag changes the window of all three planes.
    page.mouse.move(*screen(page, "coronal", 20, 8))
    page.mouse.down(button="right")
    page.mouse.move(*screen(page, "coronal", 40, 4), steps=4)
    page.mouse.up(button="right")
    page.wait_for_function(f"() => document.querySelector('#window-readout').textContent !== {auto!r}")
    page.click('button[data-preset="auto"]')
    # The screenshot of the README: axial frame 8 with the polyline, the mask's column, all three planes.
    click_pixel(page, "axial", 4.5, 30.5)
    page.mouse.move(*screen(page, "axial", 32, 32))
    page.mouse.wheel(0, -100)
    wait_frame(page, "axial", 7)
    page.locator(f'.pane[data-plane="axial"] img.mask[data-uuid="{MASK_UUID}"][data-frame="7"]').wait_for()
    page.mouse.move(*screen(page, "axial", 30, 35))
    page.locator(".tooltip").wait_for(state="visible")
    save(page, f"three-planes-{world_backend(world)}.png")


def test_a_video_row_shows_its_frames_with_a_slider_and_its_track_on_keyframes(page: Any, world: World) -> None:
    sign_in(page, world)
    page.goto(f"{world.server.url}/#/projects/{world.video_project_id}/rows/{world.video_id}")
    page.wait_for_selector('.pane[data-plane="image"][data-slice-frame="0"]')
    line = page.locator(f'.pane[data-plane="image"] polyline[data-uuid="{VIDEO_LINE_UUID}"]')
    assert line.count() == 0
    page.locator("#frame-slider").fill("3")  # Labelbox frame 4
    page.wait_for_selector('.pane[data-plane="image"][data-slice-frame="3"]')
    assert line.count() == 1 and line.get_attribute("points") == "5,5 40,30"
    box = page.locator('.pane[data-plane="image"] .stage').bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, 100)
    page.wait_for_selector('.pane[data-plane="image"][data-slice-frame="4"]')
    assert page.locator("#frame-slider").input_value() == "4" and line.count() == 0
    # The frame's pixels: flat grey 20 * 4 (mp4v is lossy, so close rather than equal).
    image = shot(page)
    r, g, b = color_at(image, (box["x"] + 5, box["y"] + box["height"] - 5))
    assert abs(r - 80) < 12 and abs(g - 80) < 12 and abs(b - 80) < 12, (r, g, b)


def test_jobs_page_shows_each_failed_annotation_with_where_it_was(page: Any, world: World) -> None:
    sign_in(page, world)
    page.goto(f"{world.server.url}/#/projects/{world.project_id}/jobs")
    job = page.locator(f'#jobs tr[data-job="{world.import_job}"]')
    assert "3 imported, 2 failed" in job.inner_text()
    job.locator("text=show failures").click()
    failures = page.locator(f'tr[data-failures-of="{world.import_job}"] tbody tr')
    failures.nth(1).wait_for()
    rows = {cells[0]: cells[1:] for cells in (failures.nth(i).locator("td").all_inner_texts() for i in range(2))}
    # (problem, file, line, JSON path, value) of each failed annotation, as the import recorded them.
    message, *where = rows[OUT_OF_RANGE_UUID]
    assert "frame 99 is out of range" in message and where == ["readme.ndjson", "3", "", "99"]
    message, *where = rows[BAD_FRAME_UUID]
    assert "must be an integer frame number" in message
    assert where == ["readme.ndjson", "5", "segments[0].keyframes[0].frame", '"eight"']
    save(page, f"jobs-{world_backend(world)}.png")


def test_a_running_job_shows_its_progress_live(page: Any, world: World) -> None:
    hub = Hub.open(home=world.server.home, database_url=world.server.database_url, actor=auth.DEFAULT_ADMIN)
    try:
        job = service_jobs.create(
            hub,
            "import",
            "labelbox_ndjson",
            name="live",
            project_id=world.project_id,
            options={"label_kind": "prediction", "input_name": "big.ndjson"},
        )
        assert service_jobs.claim(hub, job) is not None  # RUNNING, leased to this test
        service_jobs.progress(hub, job, 3, 10)
        sign_in(page, world)
        page.goto(f"{world.server.url}/#/projects/{world.project_id}/jobs")
        row = page.locator(f'#jobs tr[data-job="{job}"]')
        page.wait_for_selector(f'#jobs tr[data-job="{job}"][data-state="RUNNING"] progress[value="3"][max="10"]')
        service_jobs.progress(hub, job, 7, 10)
        page.wait_for_selector(f'#jobs tr[data-job="{job}"] progress[value="7"]')
        service_jobs.finish(hub, job, total=10, succeeded=10, failed=0)
        page.wait_for_selector(f'#jobs tr[data-job="{job}"][data-state="FINISHED"]')
        assert "10 imported, 0 failed" in row.inner_text()
    finally:
        hub.db.dispose()


def test_a_labeler_gets_no_approve_button_and_a_403_from_the_route(page: Any, world: World) -> None:
    sign_in(page, world, "labeler")
    open_row(page, world, world.series_id)
    page.locator("#no-review").wait_for()
    assert page.locator("#approve").count() == 0
    status = page.evaluate(
        """async ([project, row]) => {
            const response = await fetch(`/api/v1/projects/${project}/workflow/actions`, {
              method: "POST",
              headers: {"Authorization": `Bearer ${sessionStorage.getItem("labelport.apiKey")}`,
                        "Content-Type": "application/json"},
              body: JSON.stringify({action: "APPROVE", data_row_ids: [row]}),
            });
            return [response.status, (await response.json()).error.type];
        }""",
        [world.project_id, world.series_id],
    )
    assert status == [403, "PermissionDeniedError"]


def test_a_reviewer_moves_to_the_next_row_and_rejects_it_with_a_reason(page: Any, world: World) -> None:
    sign_in(page, world, "reviewer")
    open_row(page, world, world.series_id)
    page.click("#next-row")
    page.wait_for_url(f"**/rows/{world.second_id}")
    page.wait_for_selector('.pane[data-plane="axial"][data-slice-frame]')
    page.click("#reject")
    page.click("#confirm-reject")
    assert "Give a reason" in page.locator("#review").inner_text()
    page.fill("#reject-reason", "the line misses the vessel")
    page.click("#confirm-reject")
    page.wait_for_selector('#review .badge[data-status="InRework"]')
    history = page.locator("#history li").first.inner_text()
    assert "REJECT" in history and "the line misses the vessel" in history and "reviewer@example.org" in history


def test_approving_a_row_changes_its_state_in_the_list(page: Any, world: World) -> None:
    sign_in(page, world, "reviewer")
    open_row(page, world, world.series_id)
    page.click("#approve")
    page.wait_for_selector('#review .badge[data-status="Done"]')
    page.click("#crumbs a:text('demo: DICOM segmentation')")
    row = page.locator(f'#rows tr[data-row="{world.series_id}"]')
    row.wait_for()
    assert row.get_attribute("data-status") == "Done"
    assert row.locator(".badge").inner_text() == "Done"
    page.select_option("#filter-status", "Done")
    page.wait_for_selector(f'#rows tr[data-row="{world.second_id}"]', state="detached")
    assert page.locator("#rows tbody tr[data-row]").count() == 1
    assert page.locator("#rows-total").inner_text() == "1–1 of 1"


def world_backend(world: World) -> str:
    return world.server.database_url.split(":", 1)[0].split("+", 1)[0]
