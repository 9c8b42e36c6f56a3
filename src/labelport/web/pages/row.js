// One data row: the viewer (three linked planes, or the frames of an image or video), its annotations'
// legend and toggles, the review (approve, reject with a reason, next row in the queue) and the history.
//
// Keyboard (with the pointer over a pane): Up/Down or wheel = previous/next frame, PageUp/PageDown = 10
// frames, Home/End = first/last; c/w/p/z = crosshair, window, pan, zoom tool; 1-4 = window presets;
// r = reset zoom; +/- = zoom; g = ground truth, l = pre-labels, x = crosshair on/off; n = next in queue.

import { get, post } from "../api.js";
import { clear, errorBox, h, statusBadge, when } from "../dom.js";
import { setCrumbs } from "../nav.js";
import { Viewer } from "../viewer/viewer.js";

const TOOLS = [
  ["crosshair", "Crosshair", "c"],
  ["window", "Window/level", "w"],
  ["pan", "Pan", "p"],
  ["zoom", "Zoom", "z"],
];
const PRESET_NAMES = {
  "ct-soft-tissue": "CT soft tissue",
  "ct-lung": "CT lung",
  "ct-bone": "CT bone",
  auto: "MR auto",
};
const PRESET_KEYS = ["ct-soft-tissue", "ct-lung", "ct-bone", "auto"];

export async function showRow(app, projectId, rowId) {
  const projectPath = `/projects/${encodeURIComponent(projectId)}`;
  const [view, row, annotations] = await Promise.all([
    get(`${projectPath}/viewer`),
    get(`${projectPath}/viewer/rows/${encodeURIComponent(rowId)}`),
    get(`${projectPath}/viewer/rows/${encodeURIComponent(rowId)}/annotations`),
  ]);
  const listHref = `#/projects/${encodeURIComponent(projectId)}`;
  setCrumbs(["Projects", "#/projects"], [view.project.name, listHref], [row.global_key || row.id, null]);

  const readout = h("span", { id: "window-readout", class: "mono" });
  let frameSlider = null;
  const viewer = new Viewer({
    projectId,
    row,
    annotations: annotations.items,
    onWindow: (w) => {
      readout.textContent = w.center === null ? PRESET_NAMES[w.preset] || "" : `W ${fmt(w.width)} L ${fmt(w.center)}`;
    },
    onFrame: (pane) => {
      if (frameSlider && pane.spec.mode === "frames") frameSlider.value = String(pane.frame);
    },
  });

  const toolButtons = TOOLS.map(([tool, text, key]) =>
    h("button", {
      type: "button",
      class: ["tool", tool === viewer.tool && "on"],
      dataset: { tool },
      title: `${text} (${key})`,
      onclick: () => setTool(tool),
    }, text),
  );
  const volume = row.planes.length > 0;
  const toolbar = h("div", { class: "toolbar", role: "toolbar" },
    h("span", { class: "group" }, toolButtons),
    volume ? h("span", { class: "group" }, PRESET_KEYS.map((preset, i) =>
      h("button", { type: "button", class: "preset", dataset: { preset }, title: `${PRESET_NAMES[preset]} (${i + 1})`,
        onclick: () => viewer.setWindow(preset) }, PRESET_NAMES[preset]))) : null,
    volume ? readout : null,
    h("button", { type: "button", title: "Reset zoom and pan (r)", onclick: () => viewer.panes.forEach((p) => p.resetView()) }, "Reset view"),
  );

  frameSlider = !volume && row.frames && row.frames.frames > 1
    ? h("input", { type: "range", id: "frame-slider", min: 0, max: row.frames.frames - 1, value: 0,
        "aria-label": "Frame", oninput: (e) => viewer.goToFrame(viewer.panes[0], Number(e.target.value)) })
    : null;

  const side = h("aside", { class: "side" });
  const main = h("section", { class: "viewer-area" },
    toolbar,
    row.media_error ? h("p", { class: "error", role: "alert" }, row.media_error) : null,
    viewer.element,
    frameSlider,
  );
  app.append(h("div", { class: "row-view" }, main, side));

  const review = h("section", { class: "review", id: "review" });
  const legend = legendOf(viewer, annotations.items, view.features);
  const history = h("section", { class: "history", id: "history" });
  side.append(
    ...[
      h("h1", { class: "row-title" }, row.global_key || row.id),
      h("p", { class: "muted" }, describeRow(row)),
      review,
      legend,
      classificationsOf(annotations.items),
      history,
    ].filter(Boolean),
  );

  let state = row;
  renderReview();
  renderHistory();
  viewer.start();

  function setTool(tool) {
    viewer.tool = tool;
    toolButtons.forEach((b) => b.classList.toggle("on", b.dataset.tool === tool));
  }

  function renderReview() {
    clear(review);
    const canReview = view.permissions.includes("review");
    review.append(
      h("h2", {}, "Review"),
      h("p", {}, statusBadge(state.status), " ", h("span", { class: "muted" }, state.task_name)),
    );
    const message = h("div");
    if (canReview && state.status === "InReview") {
      const reason = h("textarea", { id: "reject-reason", rows: 3, placeholder: "Why is it rejected?", maxlength: 2000 });
      const rejectForm = h("form", { class: "reject", hidden: true, onsubmit: (e) => { e.preventDefault(); act("REJECT", reason.value.trim()); } },
        h("label", { for: "reject-reason" }, "Reason"), reason,
        h("button", { type: "submit", id: "confirm-reject" }, "Reject"));
      review.append(
        h("div", { class: "actions" },
          h("button", { type: "button", id: "approve", class: "approve", onclick: () => act("APPROVE") }, "Approve"),
          h("button", { type: "button", id: "reject", class: "reject", onclick: () => { rejectForm.hidden = false; reason.focus(); } }, "Reject…")),
        rejectForm,
      );
    } else if (!canReview) {
      review.append(h("p", { class: "muted", id: "no-review" }, `Your role (${view.role}) cannot approve or reject.`));
    }
    review.append(message, h("button", { type: "button", id: "next-row", onclick: nextRow }, "Next in review queue →"));

    async function act(action, why) {
      clear(message);
      if (action === "REJECT" && !why) {
        message.append(h("p", { class: "error" }, "Give a reason for the rejection."));
        return;
      }
      try {
        await post(`${projectPath}/workflow/actions`, { action, data_row_ids: [row.id], ...(why ? { reason: why } : {}) });
      } catch (error) {
        message.append(errorBox(error));
        return;
      }
      state = await get(`${projectPath}/viewer/rows/${encodeURIComponent(rowId)}`);
      renderReview();
      renderHistory();
    }
  }

  function renderHistory() {
    clear(history);
    history.append(h("h2", {}, "History"), h("ol", { class: "history-list" }, state.history.map((entry) =>
      h("li", {},
        h("strong", {}, entry.action), " ",
        entry.from_status ? `${entry.from_status} → ${entry.to_status}` : `→ ${entry.to_status}`,
        h("div", { class: "muted" }, `${entry.actor || "?"} · ${when(entry.at)}`),
        entry.reason ? h("div", { class: "reason" }, entry.reason) : null))));
  }

  async function nextRow() {
    const next = await get(`${projectPath}/viewer/queue/next`, { after: row.id, status: "InReview" });
    if (next.data_row_id) location.hash = `${listHref}/rows/${encodeURIComponent(next.data_row_id)}`;
    else {
      const message = h("p", { class: "muted", id: "queue-empty" }, "No other row is in review.");
      review.append(message);
    }
  }

  function onKey(event) {
    if (event.target.closest("input, textarea, select")) return;
    if (viewer.key(event)) {
      event.preventDefault();
      return;
    }
    const tool = TOOLS.find(([, , key]) => key === event.key);
    if (tool) setTool(tool[0]);
    else if (volume && "1234".includes(event.key) && event.key) viewer.setWindow(PRESET_KEYS[Number(event.key) - 1]);
    else if (event.key === "g" || event.key === "l" || event.key === "x") {
      const what = { g: "ground_truth", l: "prediction", x: "crosshair" }[event.key];
      const box = legend.querySelector(`input[data-toggle="${what}"]`);
      if (box) {
        box.checked = !box.checked;
        viewer.toggle(what, box.checked);
      }
    } else if (event.key === "n") nextRow();
    else return;
    event.preventDefault();
  }
  document.addEventListener("keydown", onKey);
  return () => {
    document.removeEventListener("keydown", onKey);
    viewer.stop();
  };
}

function fmt(value) {
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function describeRow(row) {
  const a = row.attributes;
  const parts = [row.media_type];
  if (a.modality) parts.push(a.modality);
  if (a.columns) parts.push(`${a.columns} × ${a.rows} × ${a.slices} voxels`);
  else if (row.frames) parts.push(`${row.frames.width} × ${row.frames.height} px, ${row.frames.frames} frame(s)`);
  if (a.spacing) parts.push(`${a.spacing.map((v) => +v.toFixed(3)).join(" × ")} mm`);
  if (a.series_description) parts.push(a.series_description);
  parts.push(`batch ${row.batch_name}`);
  return parts.join(" · ");
}

function legendOf(viewer, annotations, features) {
  const counts = new Map();
  for (const a of annotations) {
    if (a.tool === "classification" || a.tool === "relationship") continue;
    const key = `${a.feature}\u0000${a.color}`;
    const entry = counts.get(key) || { feature: a.feature, color: a.color, ground_truth: 0, prediction: 0 };
    entry[a.kind] += 1;
    counts.set(key, entry);
  }
  for (const f of features) {
    if (f.kind !== "tool") continue;
    const key = `${f.name}\u0000${f.color}`;
    if (!counts.has(key)) counts.set(key, { feature: f.name, color: f.color, ground_truth: 0, prediction: 0 });
  }
  const toggle = (what, text) => {
    const box = h("input", { type: "checkbox", checked: true, dataset: { toggle: what },
      onchange: (e) => viewer.toggle(what, e.target.checked) });
    return h("label", { class: "toggle" }, box, ` ${text}`);
  };
  return h("section", { class: "legend", id: "legend" },
    h("h2", {}, "Annotations"),
    h("div", { class: "toggles" }, toggle("ground_truth", "Ground truth"), toggle("prediction", "Pre-labels"),
      toggle("crosshair", "Crosshair")),
    h("ul", { class: "legend-list" }, [...counts.values()].map((e) =>
      h("li", { dataset: { feature: e.feature } },
        h("span", { class: "swatch", style: { background: e.color } }), " ", e.feature,
        h("span", { class: "muted" }, ` ${e.ground_truth} ground truth · ${e.prediction} pre-labels`)))));
}

function classificationsOf(annotations) {
  const items = annotations.filter((a) => a.tool === "classification");
  if (!items.length) return null;
  return h("section", { class: "classifications" }, h("h2", {}, "Classifications"),
    h("ul", {}, items.map((a) => h("li", {}, a.answers.join("; "),
      h("span", { class: "muted" }, ` (${a.kind === "prediction" ? "pre-label" : "ground truth"}` +
        `${a.frames.length ? `, frames ${a.frames.map(([x, y]) => (x === y ? x + 1 : `${x + 1}–${y + 1}`)).join(", ")}` : ""})`)))));
}
