// The viewer's pages, routed by the URL hash (#/projects, #/projects/ID, #/projects/ID/jobs,
// #/projects/ID/rows/ROW). Nothing secret goes in the hash: the API key stays in session storage.

import { apiKey, get, signOut } from "./api.js";
import { clear, errorBox } from "./dom.js";
import { setCrumbs } from "./nav.js";
import { showJobs } from "./pages/jobs.js";
import { showProjects } from "./pages/projects.js";
import { showRow } from "./pages/row.js";
import { showRows } from "./pages/rows.js";
import { showSignIn } from "./pages/signin.js";

const app = document.getElementById("app");
const who = document.getElementById("who");
const signOutButton = document.getElementById("sign-out");
let leave = null; // what the current page does when another replaces it (timers, key handlers)

async function route() {
  if (leave) {
    leave();
    leave = null;
  }
  clear(app);
  const path = (location.hash.replace(/^#/, "") || "/projects").split("?")[0];
  if (!apiKey()) {
    signOutButton.hidden = true;
    who.textContent = "";
    setCrumbs();
    showSignIn(app, path === "/signin" ? "/projects" : path);
    return;
  }
  signOutButton.hidden = false;
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  try {
    if (!who.textContent) who.textContent = (await get("/me")).email;
    if (parts[0] === "projects" && parts.length === 1) leave = await showProjects(app);
    else if (parts[0] === "projects" && parts.length === 2) leave = await showRows(app, parts[1]);
    else if (parts[0] === "projects" && parts[2] === "jobs") leave = await showJobs(app, parts[1]);
    else if (parts[0] === "projects" && parts[2] === "rows" && parts[3]) leave = await showRow(app, parts[1], parts[3]);
    else location.hash = "#/projects";
  } catch (error) {
    app.append(errorBox(error));
  }
}

signOutButton.addEventListener("click", () => {
  signOut();
  who.textContent = "";
  location.hash = "#/signin";
  route();
});
window.addEventListener("labelport:unauthorized", () => {
  signOut();
  who.textContent = "";
  if (location.hash !== "#/signin") location.hash = "#/signin";
});
window.addEventListener("hashchange", route);
route();
