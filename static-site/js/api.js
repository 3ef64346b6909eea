// The API client: adds the token, turns error bodies into Errors with the server's sentence,
// reads the dashboard's views, and polls for what changed with If-None-Match so an unchanged
// poll is a bodiless 304. A token
// can be older than what the directory now says (the sign-up trigger adds the group after the
// first token; two-step sign-in was just turned on): a 401, or a 403 `no_role`, gets one new
// token and one retry, never more. A 403 `mfa_required` is told to whoever listens
// (`onMfaRequired`), so every page shows the same way to set two-step sign-in up.

import { config } from "./config.js";
import { currentToken, refresh } from "./auth.js";

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    /** Seconds to wait before asking again (a 429's `Retry-After`), if said. */
    this.retryAfter = retryAfter;
  }
}

const mfaListeners = new Set();

/** Calls `fn(error)` whenever the server refuses a write until two-step sign-in is on. */
export function onMfaRequired(fn) {
  mfaListeners.add(fn);
  return () => mfaListeners.delete(fn);
}

function told(e) {
  if (e instanceof ApiError && e.code === "mfa_required") for (const fn of mfaListeners) fn(e);
  return e;
}

async function request(method, path, body, headers = {}) {
  try {
    return await send(method, path, body, headers);
  } catch (e) {
    const stale = e instanceof ApiError && (e.status === 401 || (e.status === 403 && e.code === "no_role"));
    if (!stale || !(await refresh())) throw told(e);
  }
  try {
    return await send(method, path, body, headers);
  } catch (e) {
    throw told(e);
  }
}

async function send(method, path, body, headers) {
  const { api_base } = await config();
  const h = { authorization: `Bearer ${await currentToken()}`, ...headers };
  if (body !== undefined) h["content-type"] = "application/json";
  const res = await fetch(`${api_base}${path}`, {
    method,
    headers: h,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  if (res.status === 304) return { status: 304, res };
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const e = data?.error ?? {};
    const wait = Number(res.headers.get("retry-after")) || null;
    // API Gateway's own throttling answers 429 with no sentence of Kikao's
    const fallback = res.status === 429
      ? `Too many requests just now; try again in ${wait ?? 30} seconds.`
      : `The server answered ${res.status}.`;
    throw new ApiError(res.status, e.code ?? "error", e.message ?? fallback, wait);
  }
  return { status: res.status, res, data };
}

export const api = {
  get: (path, headers) => request("GET", path, undefined, headers),
  post: (path, body, headers) => request("POST", path, body ?? {}, headers),
  put: (path, body, headers) => request("PUT", path, body, headers),
  del: (path, body, headers) => request("DELETE", path, body, headers),
};

let etag = null;

/** One page of a dashboard view (`action`, `upcoming`, `waiting`, `past`), with the list's tag. */
export async function listView(view, { limit = 50, cursor } = {}) {
  const q = new URLSearchParams({ view, limit: String(limit) });
  if (cursor) q.set("cursor", cursor);
  const r = await api.get(`/api/sessions?${q}`);
  return { data: r.data, etag: r.res.headers.get("etag") };
}

/** What changed since `since` (the last answer's `next_since`), or null when nothing did: with
 * the tag of the list the page holds, an unchanged poll is a bodiless 304. */
export async function pollChanges(since) {
  const headers = etag ? { "if-none-match": etag } : {};
  const r = await api.get(`/api/sessions?since=${encodeURIComponent(since)}&limit=100`, headers);
  if (r.status === 304) return null;
  etag = r.res.headers.get("etag");
  return r.data;
}

/** The tag of the list the page now holds. */
export function setEtag(tag) {
  etag = tag;
}

export function forgetEtag() {
  etag = null;
}

/** Uploads a screenshot through the presigned URL the API hands out; returns its key. */
export async function uploadProof(sessionId, file) {
  const { data } = await api.post(`/api/sessions/${sessionId}/payment-proof`, {
    content_type: file.type,
    size_bytes: file.size,
  });
  const res = await fetch(data.upload_url, { method: "PUT", headers: data.headers, body: file });
  if (!res.ok) throw new ApiError(res.status, "upload_failed", "The screenshot could not be uploaded; try again.");
  return data.key;
}
