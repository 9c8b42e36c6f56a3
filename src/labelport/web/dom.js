// Building DOM safely: text always goes through textContent, never through HTML parsing.

const SVG = "http://www.w3.org/2000/svg";

function apply(node, attributes) {
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name === "style" && typeof value === "object") Object.assign(node.style, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function h(tag, attributes, ...children) {
  const node = document.createElement(tag);
  apply(node, attributes);
  append(node, children);
  return node;
}

export function s(tag, attributes, ...children) {
  const node = document.createElementNS(SVG, tag);
  apply(node, attributes);
  append(node, children);
  return node;
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

export function when(date) {
  if (!date) return "";
  const value = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(date) ? date : `${date}Z`);
  return value.toLocaleString();
}

export const STATUS_NAMES = {
  ToLabel: "To label",
  InReview: "In review",
  InRework: "In rework",
  Done: "Done",
};

export function statusBadge(status) {
  return h("span", { class: ["badge", `status-${status}`], dataset: { status } }, STATUS_NAMES[status] || status);
}

export function errorBox(error) {
  const where = error.field ? ` (${error.field})` : "";
  return h("p", { class: "error", role: "alert" }, `${error.message}${where}`);
}
