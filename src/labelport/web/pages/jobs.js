// A project's imports and exports: live progress while they run, each failed annotation with where it
// was found (file, line, JSON path, value), and a download link for finished exports.

import { all, get } from "../api.js";
import { clear, errorBox, h, when } from "../dom.js";
import { setCrumbs } from "../nav.js";

const REFRESH_MS = 1000;

export async function showJobs(app, projectId) {
  const view = await get(`/projects/${encodeURIComponent(projectId)}/viewer`);
  setCrumbs(["Projects", "#/projects"], [view.project.name, `#/projects/${encodeURIComponent(projectId)}`], ["Jobs", null]);
  const body = h("tbody");
  const message = h("div");
  const opened = new Set();
  app.append(
    h("h1", {}, `Imports and exports of ${view.project.name}`),
    message,
    h("table", { class: "list", id: "jobs" },
      h("thead", {}, h("tr", {}, ["Kind", "Name", "Format", "State", "Progress", "Result", "Started", ""]
        .map((t) => h("th", {}, t)))),
      body),
  );
  let timer = null;
  let stopped = false;

  async function refresh() {
    let jobs;
    try {
      jobs = await all(`/projects/${encodeURIComponent(projectId)}/viewer/jobs`, {}, 200);
    } catch (error) {
      clear(message).append(errorBox(error));
      return;
    }
    clear(message);
    clear(body);
    for (const job of jobs) {
      body.append(jobRow(job));
      if (opened.has(job.id)) body.append(await failuresRow(job));
    }
    if (!jobs.length) body.append(h("tr", {}, h("td", { colspan: 8 }, "No imports or exports yet.")));
    const running = jobs.some((j) => j.state === "QUEUED" || j.state === "RUNNING");
    if (running && !stopped) timer = setTimeout(refresh, REFRESH_MS);
  }

  function jobRow(job) {
    const total = job.progress_total ?? (job.state === "FINISHED" ? job.progress_done : null);
    const progress = total
      ? h("progress", { max: total, value: job.progress_done }, `${job.progress_done} / ${total}`)
      : h("span", {}, job.state === "RUNNING" ? `${job.progress_done} done` : "");
    const kind = job.kind === "import" ? `import (${job.label_kind === "prediction" ? "pre-labels" : "ground truth"})` : "export";
    const result = job.error
      ? h("span", { class: "error" }, job.error)
      : job.kind === "import"
        ? `${job.succeeded} imported, ${job.failed} failed`
        : `${job.total} rows`;
    let action = "";
    if (job.kind === "import" && job.failed > 0) {
      action = h("button", { type: "button", class: "link", onclick: () => toggle(job.id) },
        opened.has(job.id) ? "hide failures" : "show failures");
    } else if (job.download_url) {
      action = h("a", { href: job.download_url, download: `${job.id}.ndjson`, class: "download" }, "download");
    }
    return h("tr", { dataset: { job: job.id, state: job.state } },
      h("td", {}, kind),
      h("td", {}, job.name, job.file ? h("div", { class: "muted" }, job.file) : ""),
      h("td", {}, job.format),
      h("td", {}, h("span", { class: ["badge", `job-${job.state}`] }, job.state)),
      h("td", {}, progress),
      h("td", {}, result),
      h("td", {}, when(job.started_at)),
      h("td", {}, action));
  }

  async function failuresRow(job) {
    const statuses = await all(`/imports/${encodeURIComponent(job.id)}/statuses`, { failures_only: true }, 1000);
    const lines = statuses.flatMap((s) => s.errors.map((e) =>
      h("tr", {},
        h("td", { class: "mono" }, s.uuid || ""),
        h("td", {}, e.message),
        h("td", {}, e.file || ""),
        h("td", { class: "num" }, e.line ?? ""),
        h("td", { class: "mono" }, e.path || ""),
        h("td", { class: "mono" }, e.value === undefined || e.value === null ? "" : JSON.stringify(e.value)))));
    return h("tr", { class: "failures", dataset: { failuresOf: job.id } }, h("td", { colspan: 8 },
      h("table", { class: "list inner" },
        h("thead", {}, h("tr", {}, ["Annotation", "Problem", "File", "Line", "Path", "Value"].map((t) => h("th", {}, t)))),
        h("tbody", {}, lines))));
  }

  function toggle(id) {
    if (opened.has(id)) opened.delete(id);
    else opened.add(id);
    clearTimeout(timer);
    refresh();
  }

  await refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
