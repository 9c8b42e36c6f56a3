// The projects the key sees, with their rows per workflow status.

import { all } from "../api.js";
import { h, STATUS_NAMES } from "../dom.js";
import { setCrumbs } from "../nav.js";

const STATUSES = ["ToLabel", "InReview", "InRework", "Done"];

export async function showProjects(app) {
  setCrumbs(["Projects", null]);
  const projects = await all("/viewer/projects");
  const rows = projects.map((p) =>
    h(
      "tr",
      { dataset: { project: p.id } },
      h("td", {}, h("a", { href: `#/projects/${encodeURIComponent(p.id)}` }, p.name)),
      h("td", {}, p.media_type),
      h("td", { class: "num" }, p.rows),
      STATUSES.map((s) => h("td", { class: "num", dataset: { status: s } }, p.counts[s] ?? 0)),
      h("td", {}, h("a", { href: `#/projects/${encodeURIComponent(p.id)}/jobs` }, "jobs")),
    ),
  );
  app.append(
    h("h1", {}, "Projects"),
    projects.length
      ? h(
          "table",
          { class: "list", id: "projects" },
          h("thead", {}, h("tr", {}, h("th", {}, "Project"), h("th", {}, "Media"), h("th", {}, "Rows"),
            STATUSES.map((s) => h("th", {}, STATUS_NAMES[s])), h("th", {}, ""))),
          h("tbody", {}, rows),
        )
      : h("p", {}, "This key has no role in any project."),
  );
  return null;
}
