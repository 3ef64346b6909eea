// The bell: the latest 20 changes to the person's bookings, from their history
// (`GET /api/me/changes`), newest first, with how many the other party (or Kikao) made since the
// person last opened it. When they last opened it is kept in this browser only.

import { api } from "./api.js";
import { el, changeText } from "./cards.js";
import { when, ago } from "./format.js";

const $ = (id) => document.getElementById(id);

/** The bell of the dashboard of `role` for user `userId`; `onDetails(id)` opens a booking. */
export function bell(role, userId, onDetails) {
  const key = `kikao.bell.seen.${userId}`;
  // a first visit starts with nothing unread: the history before it is not news
  if (!localStorage.getItem(key)) localStorage.setItem(key, new Date().toISOString());
  let changes = [];
  let loadedAt = 0;

  const isNew = (c, seen) => Date.parse(c.at) > Date.parse(seen) && c.by !== role;
  const unread = () => {
    const seen = localStorage.getItem(key);
    return changes.filter((c) => isNew(c, seen)).length;
  };

  function show() {
    const n = unread();
    $("bell-count").textContent = String(n);
    $("bell-count").hidden = n === 0;
    $("bell").setAttribute("aria-label", n ? `Latest changes, ${n} unread` : "Latest changes");
  }

  function list(now = Date.now()) {
    const seen = localStorage.getItem(key);
    if (!changes.length) return el("p", { class: "hint" }, "No changes yet.");
    return el("ol", { class: "bell-list" }, ...changes.map((c) => el("li", { class: isNew(c, seen) ? "unread" : "" },
      el("p", {}, el("strong", {}, changeText(c.by, c.action, role)), ` · ${c.with}, session ${when(c.starts_at)}`),
      el("p", { class: "hint" }, el("time", { dateTime: c.at }, ago(c.at, now)), " ",
        el("button", { type: "button", class: "link", "data-bell-details": c.session_id }, "View Details")))));
  }

  let pending = null;

  /** Reads the latest changes again: at once when `force`d, otherwise at most every 10 s (a
   * change inside those 10 s is read at their end, never dropped). */
  async function update(force = false) {
    const wait = loadedAt + 10000 - Date.now();
    if (!force && wait > 0) {
      pending ??= setTimeout(() => { pending = null; update(true); }, wait);
      return;
    }
    loadedAt = Date.now();
    try {
      ({ data: { changes } } = await api.get("/api/me/changes"));
    } catch {
      return; // the bell keeps what it had; the next change reads it again
    }
    show();
  }

  $("bell").hidden = false;
  $("bell").addEventListener("click", async () => {
    await update(true);
    $("bell-body").replaceChildren(list());
    $("bell-dialog").showModal();
    localStorage.setItem(key, new Date().toISOString());
    show();
  });
  $("bell-body").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-bell-details]");
    if (!b) return;
    $("bell-dialog").close();
    onDetails(b.dataset.bellDetails);
  });
  update(true);
  return { update };
}
