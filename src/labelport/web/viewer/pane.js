// One pane of the viewer: a plane of a volume (axial, sagittal, coronal) or the frames of an image or video.
//
// The slice is a PNG the server renders from the volume (PlaneView.extract, windowed), shown pixel for pixel
// (`image-rendering: pixelated`) at the plane's physical aspect (pixel spacing). Vector annotations are SVG in
// the plane's continuous pixel coordinates (viewBox = 0 0 width height, so pixel (c, r) covers
// [c, c+1) x [r, r+1)); masks are RGBA PNGs of the same size stacked on the slice.

import { image } from "../api.js";
import { h, s } from "../dom.js";
import { apply, clamp } from "./geometry.js";

const MASK_URL_CACHE = 400; // object URLs of mask PNGs kept per pane (scrolling back is instant)

export class Pane {
  constructor(viewer, spec) {
    this.viewer = viewer;
    this.spec = spec; // {mode: "plane" | "frames", plane, width, height, frames, spacing, letters, to_lps, from_lps}
    this.name = spec.mode === "plane" ? spec.plane : "image";
    this.frame = 0;
    this.cross = null; // [x, y] of the crosshair in this plane's pixels
    this.zoom = 1;
    this.offset = null; // [left, top] of the stage in the viewport, in CSS px; null: centred
    this.fit = 1; // CSS px per mm when the plane fits the viewport
    this.sliceToken = 0;
    this.shownToken = 0;
    this.sliceBusy = false;
    this.slicePending = false;
    this.maskUrls = new Map();
    this.maskImages = new Map(); // annotation key -> <img> on the stage
    this.hitCache = new Map(); // mask url -> ImageData, for hovering masks

    const [sx, sy] = spec.spacing;
    this.aspect = [sx, sy];
    this.title = h("span", { class: "pane-title" }, spec.mode === "plane" ? capital(spec.plane) : "Frame");
    this.label = h("span", { class: "frame-label" });
    this.slice = h("img", { class: "slice", alt: `${this.name} slice`, draggable: "false" });
    this.masks = h("div", { class: "masks" });
    this.shapes = s("g", { class: "shapes" });
    this.crossV = s("line", { class: "crosshair", "vector-effect": "non-scaling-stroke" });
    this.crossH = s("line", { class: "crosshair", "vector-effect": "non-scaling-stroke" });
    this.svg = s(
      "svg",
      { class: "overlay", viewBox: `0 0 ${spec.width} ${spec.height}`, preserveAspectRatio: "none" },
      this.shapes,
      s("g", { class: "crosshairs" }, this.crossV, this.crossH),
    );
    this.stage = h("div", { class: "stage" }, this.slice, this.masks, this.svg);
    const letters = spec.letters || {};
    this.viewport = h(
      "div",
      { class: "viewport", tabindex: "0" },
      this.stage,
      ["left", "right", "top", "bottom"].map((edge) =>
        letters[edge] ? h("span", { class: ["letter", edge], dataset: { edge } }, letters[edge]) : null,
      ),
    );
    this.element = h(
      "section",
      { class: "pane", dataset: { plane: this.name, frame: "0" } },
      h("header", {}, this.title, this.label),
      this.viewport,
    );
    this.slice.addEventListener("load", () => {
      this.element.dataset.sliceFrame = this.slice.dataset.frame;
    });
    this.bind();
  }

  get width() {
    return this.spec.width;
  }

  get height() {
    return this.spec.height;
  }

  get frames() {
    return this.spec.frames;
  }

  // --- layout --------------------------------------------------------------------------------------------

  layout() {
    const box = this.viewport.getBoundingClientRect();
    if (!box.width || !box.height) return;
    const [sx, sy] = this.aspect;
    this.fit = Math.min(box.width / (this.width * sx), box.height / (this.height * sy)) * 0.96;
    const width = this.width * sx * this.fit * this.zoom;
    const height = this.height * sy * this.fit * this.zoom;
    const [left, top] = this.offset || [(box.width - width) / 2, (box.height - height) / 2];
    Object.assign(this.stage.style, { left: `${left}px`, top: `${top}px`, width: `${width}px`, height: `${height}px` });
  }

  resetView() {
    this.zoom = 1;
    this.offset = null;
    this.layout();
  }

  zoomAt(factor, clientX, clientY) {
    const box = this.viewport.getBoundingClientRect();
    const stage = this.stage.getBoundingClientRect();
    const zoom = clamp(this.zoom * factor, 0.25, 32);
    const ratio = zoom / this.zoom;
    const cx = clientX - box.left;
    const cy = clientY - box.top;
    const left = cx - (cx - (stage.left - box.left)) * ratio;
    const top = cy - (cy - (stage.top - box.top)) * ratio;
    this.zoom = zoom;
    this.offset = [left, top];
    this.layout();
  }

  panBy(dx, dy) {
    const box = this.viewport.getBoundingClientRect();
    const stage = this.stage.getBoundingClientRect();
    this.offset = [stage.left - box.left + dx, stage.top - box.top + dy];
    this.layout();
  }

  // Continuous pixel coordinates of a point on the screen.
  pixelAt(clientX, clientY) {
    const rect = this.stage.getBoundingClientRect();
    return [((clientX - rect.left) / rect.width) * this.width, ((clientY - rect.top) / rect.height) * this.height];
  }

  // --- frames and the crosshair ---------------------------------------------------------------------------

  // Show the frame through patient point `lps` and put the crosshair on it.
  showPoint(lps) {
    const [x, y, f] = apply(this.spec.from_lps, [...lps, 1]);
    this.cross = [x, y];
    this.drawCrosshair();
    this.setFrame(Math.round(f));
  }

  // The patient point at pixel (x, y) of frame `frame`.
  pointAt(x, y, frame = this.frame) {
    return apply(this.spec.to_lps, [x, y, frame, 1]).slice(0, 3);
  }

  setFrame(frame) {
    const f = clamp(Math.round(frame), 0, this.frames - 1);
    const changed = f !== this.frame || !this.element.dataset.requested;
    this.frame = f;
    this.element.dataset.frame = String(f);
    const total = this.frames;
    this.label.textContent =
      this.spec.mode === "plane"
        ? `frame ${f + 1} / ${total} · Labelbox ${f + 1} · Encord ${f}`
        : `frame ${f + 1} / ${total}`;
    if (changed) {
      this.viewer.onFrame(this);
      this.element.dataset.requested = "1";
      this.loadSlice();
      this.refreshOverlays();
    }
  }

  drawCrosshair() {
    const show = this.cross && this.viewer.show.crosshair && this.spec.mode === "plane";
    for (const line of [this.crossV, this.crossH]) line.style.display = show ? "" : "none";
    if (!show) return;
    const [x, y] = this.cross;
    Object.entries({ x1: x, x2: x, y1: 0, y2: this.height }).forEach(([k, v]) => this.crossV.setAttribute(k, v));
    Object.entries({ x1: 0, x2: this.width, y1: y, y2: y }).forEach(([k, v]) => this.crossH.setAttribute(k, v));
    this.element.dataset.cross = `${x.toFixed(3)},${y.toFixed(3)}`;
  }

  // --- pixels ---------------------------------------------------------------------------------------------

  slicePath() {
    const base = this.viewer.rowPath;
    return this.spec.mode === "plane" ? `${base}/slices/${this.spec.plane}/${this.frame}` : `${base}/frames/${this.frame}`;
  }

  async loadSlice() {
    if (this.sliceBusy) {
      this.slicePending = true;
      return;
    }
    this.sliceBusy = true;
    const token = ++this.sliceToken;
    const frame = this.frame;
    try {
      const params = this.spec.mode === "plane" ? this.viewer.windowParams() : {};
      const { url, headers } = await image(this.slicePath(), params);
      if (token > this.shownToken) {
        this.shownToken = token;
        const old = this.slice.src;
        this.slice.dataset.frame = String(frame);
        this.slice.src = url;
        if (old.startsWith("blob:")) URL.revokeObjectURL(old);
        this.viewer.noteWindow(headers);
        this.element.classList.remove("failed");
      } else {
        URL.revokeObjectURL(url);
      }
    } catch (error) {
      this.element.classList.add("failed");
      this.label.textContent = error.message;
    } finally {
      this.sliceBusy = false;
      if (this.slicePending) {
        this.slicePending = false;
        this.loadSlice();
      }
    }
  }

  refreshOverlays() {
    this.drawShapes();
    this.loadMasks();
  }

  drawShapes() {
    this.shapes.replaceChildren();
    const plane = this.spec.mode === "plane" ? this.spec.plane : null;
    for (const annotation of this.viewer.visibleAnnotations()) {
      for (const shape of annotation.shapes) {
        if (shape.plane !== plane) continue;
        if (shape.frame !== null && shape.frame !== this.frame) continue;
        const element = shapeElement(shape, annotation);
        if (!element) continue;
        element.addEventListener("pointerenter", (e) => this.viewer.hover(annotation, e));
        element.addEventListener("pointermove", (e) => this.viewer.hover(annotation, e));
        element.addEventListener("pointerleave", () => this.viewer.hover(null));
        this.shapes.append(element);
      }
    }
  }

  maskPath(annotation) {
    const base = `${this.viewer.rowPath}/masks/${annotation.kind}/${annotation.uuid}`;
    return this.spec.mode === "plane" ? `${base}/slices/${this.spec.plane}/${this.frame}` : `${base}/frames/${this.frame}`;
  }

  async loadMasks() {
    const wanted = new Map();
    for (const annotation of this.viewer.visibleAnnotations()) {
      const frames = annotation.mask && annotation.mask.frames[this.name];
      if (frames && frames.includes(this.frame)) wanted.set(`${annotation.kind}:${annotation.uuid}`, annotation);
    }
    for (const [key, img] of this.maskImages) {
      if (!wanted.has(key)) {
        img.remove();
        this.maskImages.delete(key);
      }
    }
    const frame = this.frame;
    await Promise.all(
      [...wanted].map(async ([key, annotation]) => {
        const cacheKey = `${key}:${this.name}:${frame}`;
        let url = this.maskUrls.get(cacheKey);
        if (!url) {
          try {
            url = (await image(this.maskPath(annotation))).url;
          } catch {
            return;
          }
          this.rememberMask(cacheKey, url);
        }
        if (frame !== this.frame || !this.viewer.isVisible(annotation)) return;
        let img = this.maskImages.get(key);
        if (!img) {
          img = h("img", {
            class: ["mask", `kind-${annotation.kind}`],
            alt: "",
            draggable: "false",
            dataset: { uuid: annotation.uuid, kind: annotation.kind },
          });
          this.maskImages.set(key, img);
          this.masks.append(img);
        }
        img.dataset.frame = String(frame);
        img.src = url;
      }),
    );
  }

  rememberMask(key, url) {
    this.maskUrls.set(key, url);
    if (this.maskUrls.size > MASK_URL_CACHE) {
      const [oldest, old] = this.maskUrls.entries().next().value;
      this.maskUrls.delete(oldest);
      this.hitCache.delete(old);
      URL.revokeObjectURL(old);
    }
  }

  // The mask annotation under a screen point, if any (by the alpha of its PNG).
  maskAt(clientX, clientY) {
    const [x, y] = this.pixelAt(clientX, clientY);
    const column = Math.floor(x);
    const row = Math.floor(y);
    if (column < 0 || row < 0 || column >= this.width || row >= this.height) return null;
    for (const img of [...this.maskImages.values()].reverse()) {
      if (!img.complete || !img.naturalWidth) continue;
      let data = this.hitCache.get(img.src);
      if (!data) {
        const canvas = document.createElement("canvas");
        canvas.width = img.naturalWidth;
        canvas.height = img.naturalHeight;
        const context = canvas.getContext("2d");
        context.drawImage(img, 0, 0);
        data = context.getImageData(0, 0, canvas.width, canvas.height);
        this.hitCache.set(img.src, data);
      }
      if (data.data[(row * data.width + column) * 4 + 3] > 0) {
        return this.viewer.annotationOf(img.dataset.kind, img.dataset.uuid);
      }
    }
    return null;
  }

  // --- input ----------------------------------------------------------------------------------------------

  bind() {
    const viewport = this.viewport;
    let drag = null;
    viewport.addEventListener("contextmenu", (e) => e.preventDefault());
    viewport.addEventListener("pointerdown", (e) => {
      this.viewer.activate(this);
      viewport.focus({ preventScroll: true });
      const tool = e.button === 2 ? "window" : e.button === 1 ? "pan" : this.viewer.tool;
      drag = { tool, x: e.clientX, y: e.clientY, window: this.viewer.currentWindow() };
      viewport.setPointerCapture(e.pointerId);
      if (tool === "crosshair") this.viewer.pointTo(this, e.clientX, e.clientY);
      e.preventDefault();
    });
    viewport.addEventListener("pointermove", (e) => {
      if (!drag) {
        if (!e.target.closest("svg .shape")) this.viewer.hover(this.maskAt(e.clientX, e.clientY), e);
        return;
      }
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      if (drag.tool === "crosshair") this.viewer.pointTo(this, e.clientX, e.clientY);
      else if (drag.tool === "pan") {
        this.panBy(dx, dy);
        drag.x = e.clientX;
        drag.y = e.clientY;
      } else if (drag.tool === "zoom") {
        this.zoomAt(Math.exp(-dy / 200), drag.x, drag.y);
        drag.y = e.clientY;
      } else if (drag.tool === "window" && drag.window) {
        const step = Math.max(drag.window.width, 1) / 256;
        this.viewer.setWindow({
          center: drag.window.center + dy * step,
          width: Math.max(1, drag.window.width + dx * step),
        });
      }
    });
    const end = (e) => {
      if (drag && viewport.hasPointerCapture(e.pointerId)) viewport.releasePointerCapture(e.pointerId);
      drag = null;
    };
    viewport.addEventListener("pointerup", end);
    viewport.addEventListener("pointercancel", end);
    viewport.addEventListener("pointerleave", () => this.viewer.hover(null));
    viewport.addEventListener(
      "wheel",
      (e) => {
        e.preventDefault();
        this.viewer.activate(this);
        if (e.ctrlKey || e.metaKey) this.zoomAt(Math.exp(-e.deltaY / 300), e.clientX, e.clientY);
        else if (e.deltaY) this.viewer.stepFrame(this, Math.sign(e.deltaY));
      },
      { passive: false },
    );
    viewport.addEventListener("pointerenter", () => this.viewer.activate(this));
  }

  dispose() {
    for (const url of this.maskUrls.values()) URL.revokeObjectURL(url);
    if (this.slice.src.startsWith("blob:")) URL.revokeObjectURL(this.slice.src);
  }
}

function capital(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function shapeElement(shape, annotation) {
  const attributes = {
    class: ["shape", `kind-${annotation.kind}`, `type-${shape.type}`],
    stroke: annotation.color,
    "vector-effect": "non-scaling-stroke",
    dataset: { uuid: annotation.uuid, kind: annotation.kind, feature: annotation.feature },
  };
  const points = shape.points.map(([x, y]) => `${x},${y}`).join(" ");
  switch (shape.type) {
    case "polyline":
      return s("polyline", { ...attributes, points, fill: "none" });
    case "polygon":
      return s("polygon", { ...attributes, points, fill: annotation.color });
    case "box": {
      const [[x1, y1], [x2, y2]] = shape.points;
      return s("rect", { ...attributes, x: x1, y: y1, width: x2 - x1, height: y2 - y1, fill: annotation.color });
    }
    case "point": {
      const [[x, y]] = shape.points;
      return s("circle", { ...attributes, cx: x, cy: y, r: 1, fill: annotation.color });
    }
    case "ellipse": {
      const [[x, y]] = shape.points;
      const [rx, ry] = shape.radii;
      return s("ellipse", {
        ...attributes,
        cx: x,
        cy: y,
        rx,
        ry,
        fill: annotation.color,
        transform: `rotate(${shape.angle || 0} ${x} ${y})`,
      });
    }
    case "skeleton":
      return s(
        "g",
        { ...attributes, fill: annotation.color },
        shape.edges.map(([a, b]) =>
          s("line", {
            x1: shape.points[a][0],
            y1: shape.points[a][1],
            x2: shape.points[b][0],
            y2: shape.points[b][1],
            "vector-effect": "non-scaling-stroke",
          }),
        ),
        shape.points.map(([x, y]) => s("circle", { cx: x, cy: y, r: 1 })),
      );
    default:
      return null;
  }
}
