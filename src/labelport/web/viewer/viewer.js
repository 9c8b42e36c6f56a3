// The viewer of one data row: three linked planes of a volume (axial, sagittal, coronal) or one pane of
// frames (image, video), a shared window/level, the crosshair in patient coordinates, overlays and a
// tooltip that says what an annotation is and where it came from.
//
// Linking: the crosshair is a point in patient LPS millimetres. Each plane shows the frame through it
// (the server's `from_lps` matrix of that plane, no resampling) and draws the crosshair where it lies.
// Clicking a plane moves the point there; scrolling a plane moves it along that plane's normal.

import { h } from "../dom.js";
import { apply, clamp } from "./geometry.js";
import { Pane } from "./pane.js";

const KIND_NAMES = { ground_truth: "ground truth", prediction: "pre-label" };

export class Viewer {
  constructor({ projectId, row, annotations, onWindow, onFrame }) {
    this.projectId = projectId;
    this.row = row;
    this.rowPath = `/projects/${encodeURIComponent(projectId)}/viewer/rows/${encodeURIComponent(row.id)}`;
    this.annotations = annotations;
    this.byKey = new Map(annotations.map((a) => [`${a.kind}:${a.uuid}`, a]));
    this.show = { ground_truth: true, prediction: true, crosshair: true };
    this.tool = "crosshair";
    this.window = { preset: row.default_window, center: null, width: null };
    this.onWindow = onWindow || (() => {});
    this.onFrame = onFrame || (() => {});
    this.tooltip = h("div", { class: "tooltip", role: "tooltip", hidden: true });
    const specs = row.planes.length
      ? row.planes.map((p) => ({ mode: "plane", ...p }))
      : row.frames
        ? [{ mode: "frames", width: row.frames.width, height: row.frames.height, frames: row.frames.frames, spacing: [1, 1] }]
        : [];
    this.panes = specs.map((spec) => new Pane(this, spec));
    this.active = this.panes[0] || null;
    this.element = h("div", { class: ["panes", `panes-${this.panes.length}`] }, this.panes.map((p) => p.element), this.tooltip);
    this.resize = () => this.panes.forEach((p) => p.layout());
  }

  // Lay the panes out and show the first frames (call once the element is in the document).
  start() {
    window.addEventListener("resize", this.resize);
    this.resize();
    if (this.row.planes.length) {
      // The centre voxel of the volume (a voxel centre, so every plane's frame through it is exact).
      const axial = this.panes[0];
      const middle = (n) => Math.floor(n / 2) + 0.5;
      this.point = axial.pointAt(middle(axial.width), middle(axial.height), Math.floor(axial.frames / 2));
      this.panes.forEach((p) => p.showPoint(this.point));
    } else {
      this.panes.forEach((p) => p.setFrame(0));
    }
  }

  stop() {
    window.removeEventListener("resize", this.resize);
    this.panes.forEach((p) => p.dispose());
  }

  pane(name) {
    return this.panes.find((p) => p.name === name);
  }

  activate(pane) {
    this.active = pane;
    this.panes.forEach((p) => p.element.classList.toggle("active", p === pane));
  }

  // --- the crosshair and frames ----------------------------------------------------------------------------

  setPoint(lps) {
    this.point = lps;
    this.panes.forEach((p) => p.showPoint(lps));
  }

  pointTo(pane, clientX, clientY) {
    if (pane.spec.mode !== "plane") return;
    const [x, y] = pane.pixelAt(clientX, clientY);
    this.setPoint(pane.pointAt(clamp(x, 0, pane.width), clamp(y, 0, pane.height)));
  }

  stepFrame(pane, delta) {
    const target = clamp(pane.frame + delta, 0, pane.frames - 1);
    if (target === pane.frame) return;
    if (pane.spec.mode !== "plane") {
      pane.setFrame(target);
      return;
    }
    const [x, y] = apply(pane.spec.from_lps, [...this.point, 1]);
    this.setPoint(pane.pointAt(x, y, target));
  }

  goToFrame(pane, frame) {
    this.stepFrame(pane, clamp(frame, 0, pane.frames - 1) - pane.frame);
  }

  // --- window / level --------------------------------------------------------------------------------------

  windowParams() {
    const w = this.window;
    if (w.preset) return { window: w.preset };
    return { center: w.center.toFixed(2), width: w.width.toFixed(2) };
  }

  currentWindow() {
    const w = this.window;
    return w.center === null ? null : { center: w.center, width: w.width };
  }

  // A preset name ("auto", "ct-soft-tissue"...) or {center, width}.
  setWindow(choice) {
    this.window = typeof choice === "string" ? { preset: choice, center: null, width: null } : { preset: null, ...choice };
    this.panes.forEach((p) => p.loadSlice());
    this.onWindow(this.window);
  }

  // The server says which window it used (X-Window-Center/Width): an auto window gets its numbers.
  noteWindow(headers) {
    const center = Number.parseFloat(headers.get("X-Window-Center"));
    const width = Number.parseFloat(headers.get("X-Window-Width"));
    if (Number.isFinite(center) && Number.isFinite(width)) {
      this.window = { ...this.window, center, width };
      this.onWindow(this.window);
    }
  }

  // --- overlays --------------------------------------------------------------------------------------------

  isVisible(annotation) {
    return this.show[annotation.kind] !== false;
  }

  visibleAnnotations() {
    return this.annotations.filter((a) => this.isVisible(a));
  }

  annotationOf(kind, uuid) {
    return this.byKey.get(`${kind}:${uuid}`) || null;
  }

  toggle(what, on) {
    this.show[what] = on;
    if (what === "crosshair") this.panes.forEach((p) => p.drawCrosshair());
    else this.panes.forEach((p) => p.refreshOverlays());
  }

  hover(annotation, event) {
    const tip = this.tooltip;
    if (!annotation) {
      tip.hidden = true;
      return;
    }
    if (tip.dataset.uuid !== `${annotation.kind}:${annotation.uuid}`) {
      tip.dataset.uuid = `${annotation.kind}:${annotation.uuid}`;
      tip.replaceChildren(...describe(annotation));
    }
    tip.hidden = false;
    const box = this.element.getBoundingClientRect();
    tip.style.left = `${event.clientX - box.left + 14}px`;
    tip.style.top = `${event.clientY - box.top + 14}px`;
  }

  // --- keyboard --------------------------------------------------------------------------------------------

  key(event) {
    const pane = this.active;
    if (!pane) return false;
    const steps = { ArrowUp: -1, ArrowDown: 1, ArrowLeft: -1, ArrowRight: 1, PageUp: -10, PageDown: 10 };
    if (event.key in steps) this.stepFrame(pane, steps[event.key]);
    else if (event.key === "Home") this.goToFrame(pane, 0);
    else if (event.key === "End") this.goToFrame(pane, pane.frames - 1);
    else if (event.key === "r") this.panes.forEach((p) => p.resetView());
    else if (event.key === "+" || event.key === "=") pane.zoomAt(1.25, ...center(pane));
    else if (event.key === "-") pane.zoomAt(0.8, ...center(pane));
    else return false;
    return true;
  }
}

function center(pane) {
  const box = pane.viewport.getBoundingClientRect();
  return [box.left + box.width / 2, box.top + box.height / 2];
}

export function describe(annotation) {
  const lines = [
    h("strong", {}, annotation.feature),
    h("div", { class: "muted" }, `${KIND_NAMES[annotation.kind] || annotation.kind} · ${annotation.tool}`),
  ];
  if (annotation.confidence !== null && annotation.confidence !== undefined) {
    lines.push(h("div", {}, `confidence ${annotation.confidence}`));
  }
  for (const answer of annotation.answers) lines.push(h("div", { class: "answer" }, answer));
  const source = annotation.source;
  lines.push(
    h(
      "div",
      { class: "source" },
      source
        ? `from import “${source.job_name}” (${source.format}${source.file ? `, ${source.file}` : ""})` +
            `${source.by ? ` by ${source.by}` : ""}`
        : "source: no import job found",
    ),
  );
  lines.push(h("div", { class: "mono muted" }, annotation.uuid));
  return lines;
}
