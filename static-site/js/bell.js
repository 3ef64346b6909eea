// The bell: the latest 20 changes to the person's bookings, from their history
// (`GET /api/me/changes`), newest first, with how many the other party (or Kikao) made since the
// person last opened it. When they last opened it is kept in this browser only.

import { api } from "./api.js";
import { el } from "./cards.js";
import { when, ago } from "./format.js";

const $ = (id) => document.getElementById(id);

/** What each change was, in words, and who can make it. */
const DONE = {
  book: "requested a session", approve: "approved", decline: "declined", cancel: "cancelled",
  submit_payment: "submitted a payment", verify_payment: "verified the payment", reject_payment: "did not accept the payment",
  reschedule: "proposed a new time", accept_reschedule: "accepted the new time", decline_reschedule: "kept the current time",
  start: "started the session", complete: "completed the session", expire: "expired the booking",
  withdraw: "withdrew the booking",
};

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

  function who(by) {
    if (by === role) return "You";
    if (by === "system") return "Kikao";
    return by === "client" ? "The client" : "The psychologist";
  }

  function list(now = Date.now()) {
    const seen = localStorage.getItem(key);
    if (!changes.length) return el("p", { class: "hint" }, "No changes yet.");
    return el("ol", { class: "bell-list" }, ...changes.map((c) => el("li", { class: isNew(c, seen) ? "unread" : "" },
      el("p", {}, el("strong", {}, `${who(c.by)} ${DONE[c.action] ?? c.action}`), ` · ${c.with}, session ${when(c.starts_at)}`),
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
