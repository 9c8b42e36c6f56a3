// The viewer's only way to the server: the /api/v1 routes the SDK uses, with the API key in the
// Authorization header. The key lives in session storage (gone when the tab closes) and never in a URL.

const KEY = "labelport.apiKey";
const BASE = "/api/v1";

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.type = error.type || "HTTPError";
    this.field = error.field ?? null;
    this.value = error.value ?? null;
  }
}

export function apiKey() {
  return sessionStorage.getItem(KEY);
}

export function signIn(key) {
  sessionStorage.setItem(KEY, key.trim());
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

function url(path, params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") query.set(name, String(value));
  }
  const text = query.toString();
  return `${BASE}${path}${text ? `?${text}` : ""}`;
}

async function request(method, path, { params, body, signal } = {}) {
  const headers = { Accept: "application/json" };
  const key = apiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url(path, params), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    credentials: "omit",
  });
  if (!response.ok) {
    let payload = null;
    try {
      payload = await response.json();
    } catch {
      payload = null;
    }
    const error = new ApiError(response.status, payload);
    if (response.status === 401) window.dispatchEvent(new CustomEvent("labelport:unauthorized"));
    throw error;
  }
  return response;
}

export async function get(path, params, signal) {
  return (await request("GET", path, { params, signal })).json();
}

export async function post(path, body) {
  return (await request("POST", path, { body })).json();
}

// A PNG fetched with the key, as an object URL an <img> can show, and the response headers.
export async function image(path, params, signal) {
  const response = await request("GET", path, { params, signal });
  const blob = await response.blob();
  return { url: URL.createObjectURL(blob), headers: response.headers };
}

// Every page of a paginated list (cursor after cursor), up to `limit` items.
export async function all(path, params, limit = 5000) {
  const items = [];
  let cursor = null;
  do {
    const page = await get(path, { ...params, cursor, limit: 1000 });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < limit);
  return items;
}
