// The breadcrumbs in the top bar.

import { clear, h } from "./dom.js";

export function setCrumbs(...links) {
  const crumbs = document.getElementById("crumbs");
  clear(crumbs);
  links.forEach(([text, href], index) => {
    if (index) crumbs.append(" / ");
    crumbs.append(href ? h("a", { href }, text) : h("span", {}, text));
  });
}
