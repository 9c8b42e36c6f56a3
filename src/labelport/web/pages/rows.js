// A project's data rows: workflow status and label counts, filtered by status, batch and global key,
// one page at a time (the server pages in SQL).

import { get } from "../api.js";
import { clear, errorBox, h, STATUS_NAMES, statusBadge, when } from "../dom.js";
import { setCrumbs } from "../nav.js";

const PAGE = 50;

export async function showRows(app, projectId) {
  const view = await get(`/projects/${encodeURIComponent(projectId)}/viewer`);
  const project = view.project;
  const base = `#/projects/${encodeURIComponent(projectId)}`;
  setCrumbs(["Projects", "#/projects"], [project.name, null]);
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const state = {
    status: params.get("status") || "",
    batch: params.get("batch") || "",
    search: params.get("search") || "",
    cursors: [null], // cursors[i] opens page i
    index: 0,
  };

  const status = h("select", { id: "filter-status", "aria-label": "Workflow status" },
    h("option", { value: "" }, "All statuses"),
    Object.entries(STATUS_NAMES).map(([value, text]) => h("option", { value }, `${text} (${project.counts[value] ?? 0})`)));
  status.value = state.status;
  const batch = h("select", { id: "filter-batch", "aria-label": "Batch" },
    h("option", { value: "" }, "All batches"),
    view.batches.map((b) => h("option", { value: b.id }, `${b.name} (${b.size})`)));
  batch.value = state.batch;
  const search = h("input", { id: "filter-search", type: "search", placeholder: "Global key or data row id", value: state.search });
  const body = h("tbody");
  const summary = h("span", { id: "rows-total" });
  const previous = h("button", { type: "button", id: "page-previous", disabled: true }, "Previous");
  const next = h("button", { type: "button", id: "page-next", disabled: true }, "Next");
  const message = h("div");

  app.append(
    h("h1", {}, project.name),
    h("p", { class: "muted" }, `${project.media_type} · ${project.rows} rows · your role: ${view.role} · `,
      h("a", { href: `${base}/jobs` }, "imports and exports")),
    h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); reload(); } }, status, batch, search,
      h("button", { type: "submit" }, "Filter")),
    message,
    h("table", { class: "list", id: "rows" },
      h("thead", {}, h("tr", {}, ["Global key", "Media", "Batch", "Status", "Ground truth", "Pre-labels", "Updated"]
        .map((t) => h("th", {}, t)))),
      body),
    h("div", { class: "pager" }, previous, summary, next),
  );
  status.addEventListener("change", reload);
  batch.addEventListener("change", reload);
  previous.addEventListener("click", () => { state.index -= 1; load(); });
  next.addEventListener("click", () => { state.index += 1; load(); });

  function reload() {
    state.status = status.value;
    state.batch = batch.value;
    state.search = search.value.trim();
    state.cursors = [null];
    state.index = 0;
    load();
  }

  async function load() {
    const cursor = state.cursors[state.index];
    clear(message);
    let page;
    try {
      page = await get(`/projects/${encodeURIComponent(projectId)}/viewer/rows`, {
        status: state.status, batch_id: state.batch, search: state.search, limit: PAGE, cursor,
      });
    } catch (error) {
      message.append(errorBox(error));
      return;
    }
    clear(body);
    for (const row of page.items) {
      const href = `${base}/rows/${encodeURIComponent(row.id)}`;
      body.append(h("tr", { dataset: { row: row.id, status: row.status } },
        h("td", {}, h("a", { href }, row.global_key || row.id)),
        h("td", {}, row.media_type),
        h("td", {}, row.batch_name),
        h("td", {}, statusBadge(row.status)),
        h("td", { class: "num" }, row.annotations.ground_truth),
        h("td", { class: "num" }, row.annotations.prediction),
        h("td", {}, when(row.status_updated_at))));
    }
    if (!page.items.length) body.append(h("tr", {}, h("td", { colspan: 7 }, "No data rows match.")));
    const first = state.index * PAGE;
    summary.textContent = page.total ? `${first + 1}–${first + page.items.length} of ${page.total}` : "0 rows";
    previous.disabled = state.index === 0;
    next.disabled = !page.next_cursor;
    if (page.next_cursor) state.cursors[state.index + 1] = page.next_cursor;
  }

  await load();
  return null;
}
