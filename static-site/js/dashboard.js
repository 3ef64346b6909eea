// The dashboard both people use, schedule first: what needs the person, then their sessions
// by start time (a psychologist's by day), then what waits on the other party, then the past,
// newest first. Each section is one of the server's views, read page by page ("Show more"), and
// each card sits where the server's `view` puts it. It keeps those sessions in sync with the
// server by catch-up polls that bring only what changed (`?since=`): every 30 s while the tab is
// visible (a bodiless 304 when nothing changed), every
// 5 s for two minutes after the user's own action leaves the booking waiting on the other
// person, every 2 minutes while the tab is hidden (so the title's count stays true), at once on
// focus and after the user's own action, and by the Refresh button. A poll that brings
// a status change the user did not make is announced. Actions are shown done at once and rolled
// back, with the server's sentence, if the server refuses them. A psychologist without two-step
// sign-in is shown a notice that sets it up (js/mfa.js), and a change the server refuses for
// want of it says so rather than showing a bare error.

import { config } from "./config.js";
import { token, signedInUser, signOut, homePage, SESSION_ENDED } from "./auth.js";
import { api, listView, pollChanges, setEtag, forgetEtag, uploadProof, ApiError } from "./api.js";
import { card, el, previewNodes, offerDevPayments } from "./cards.js";
import { setTimeZone, clock, kes, daysFromToday } from "./format.js";
import { openDetails, downloadIcs } from "./details.js";
import { bell } from "./bell.js";
import { openProfile } from "./profile.js";
import { slotPicker } from "./slots.js";
import { mfaBanner, MFA_NEEDED, MFA_DONE } from "./mfa.js";
import { askConsent } from "./privacy.js";
import { dialogValue } from "./dialog.js";
import { statementPanel } from "./statement.js";
import { unmatchedPanel } from "./unmatched.js";

const $ = (id) => document.getElementById(id);

/** The server's views, each read page by page (`GET /api/sessions?view=`). */
const VIEWS = ["action", "upcoming", "waiting", "past"];

/** The sections of each dashboard: which view each shows, and in what order. The past view's
 * bookings whose date is still to come (declined or cancelled ahead of time) are shown apart
 * from those that happened. */
const SECTIONS = {
  client: [
    { key: "action", title: "Needs your action", view: "action", badge: true },
    { key: "upcoming", title: "Upcoming", view: "upcoming" },
    { key: "waiting", title: "Requests", view: "waiting" },
    { key: "declined", title: "Declined or Cancelled", view: "past", ahead: true, hideEmpty: true },
    { key: "past", title: "Past", view: "past", ahead: false, newestFirst: true, more: true },
  ],
  psychologist: [
    { key: "action", title: "Needs your action", view: "action", badge: true },
    { key: "upcoming", title: "Schedule", view: "upcoming", agenda: true },
    { key: "waiting", title: "Approved – Awaiting Payment", view: "waiting" },
    { key: "declined", title: "Declined or Cancelled", view: "past", ahead: true, hideEmpty: true },
    { key: "past", title: "Past", view: "past", ahead: false, newestFirst: true, more: true },
  ],
};

/** The psychologist's schedule by day, in their time zone. */
const AGENDA = [
  { key: "today", title: "Today", fits: (d) => d <= 0 },
  { key: "tomorrow", title: "Tomorrow", fits: (d) => d === 1 },
  { key: "week", title: "This week", fits: (d) => d > 1 && d < 7 },
  { key: "later", title: "Later", fits: (d) => d >= 7 },
];

/** What a status change means to the person who did not make it, and how it looks: good news
 * green (`notice`), bad news red (`error`). */
const ANNOUNCE = {
  client: { approved: ["🔔 Approved! Please submit payment.", "notice"], confirmed: ["🔔 Confirmed! Your session is ready.", "notice"],
    declined: ["Your request was declined.", "error"], cancelled: ["A booking was cancelled.", "error"],
    in_progress: ["🎥 Your session has started.", "notice"], completed: ["Session completed.", "info"] },
  psychologist: { pending_approval: ["🔔 New booking request!", "notice"], payment_submitted: ["🔔 Payment submitted!", "notice"],
    cancelled: ["A booking was cancelled.", "error"] },
};

/** What the other person did to `s` since the page last saw it (`before`), as [text, kind], or
 * null: the status a change led to, told apart where two changes lead to the same one (a
 * rejected payment goes back to `approved`; a reschedule answered leaves `confirmed`). */
function announcement(before, s) {
  const role = state.role;
  if (s.reschedule && !before?.reschedule && s.reschedule.proposed_by !== role) return ["🔁 A new time was proposed.", "notice"];
  if (before?.reschedule && !s.reschedule && before.reschedule.proposed_by === role && s.status === before.status) {
    return s.starts_at !== before.starts_at
      ? ["✅ Your proposed time was accepted.", "notice"]
      : ["Your proposed time was declined; the session keeps its time.", "info"];
  }
  if (before && before.status === s.status) return null;
  if (role === "psychologist" && s.status === "confirmed" && s.payment?.by_mpesa && !before?.payment?.by_mpesa) {
    return [`🔔 ${s.client.name} paid by M-Pesa; the session is confirmed.`, "notice"];
  }
  if (role === "client" && before?.status === "payment_submitted" && s.status === "approved") {
    const why = s.payment?.rejection_reason;
    return [`Your payment was not accepted${why ? `: ${why}` : "."} Please pay again.`, "error"];
  }
  return ANNOUNCE[role][s.status] ?? null;
}

const state = {
  role: null,
  /** Payment requests on the client's phone, by booking: {checkout_id, state, message}. */
  checkouts: new Map(),
  me: null,
  sessions: new Map(),
  /** Until the first list arrives, sections show a placeholder rather than "Nothing here." */
  loaded: false,
  /** Each view's next page, where there is one. */
  cursors: {},
  /** Where the next catch-up poll starts (`next_since`); null: read the views afresh. */
  since: null,
  summary: { counts: {}, action_required: 0 },
  busy: new Set(),
  mine: new Set(),
  updatedAt: null,
  loading: false,
  /** A refresh was asked for while one ran: it runs once that one ends (never dropped). */
  again: null,
  /** Moves on with every action of this page's own: a poll that started before one carries
   * the list as it was, and is not drawn over the action's result. */
  generation: 0,
  /** Until when polls come every `fast_poll_ms`: the other person is expected to answer. */
  fastUntil: 0,
  /** What the client has typed or chosen in a payment form, by session: polls re-draw the
   * cards, and what was typed must survive them. */
  drafts: new Map(),
};

function draft(id) {
  if (!state.drafts.has(id)) state.drafts.set(id, { transaction_code: "", mpesa_message: "", file: null, preview: null });
  return state.drafts.get(id);
}

/** What a refusal says to the person: the server's sentence, or, when two-step sign-in is
 * what is missing, the page's (with the banner that sets it up). */
const say = (e) => (e instanceof ApiError && e.code === "mfa_required" ? MFA_NEEDED : e.message);

function toast(text, kind = "info") {
  const t = el("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  $("toasts").append(t);
  setTimeout(() => t.remove(), 6000);
}

function showError(message) {
  const b = $("error");
  b.textContent = message ?? "";
  b.hidden = !message;
}

/** The sessions of section `sec`, in its order. */
function sectionItems(sec, now) {
  const items = [...state.sessions.values()].filter((s) => s.view === sec.view
    && (sec.ahead === undefined || (new Date(s.starts_at).getTime() > now) === sec.ahead));
  items.sort((a, b) => (a.starts_at < b.starts_at ? -1 : a.starts_at > b.starts_at ? 1 : 0) || (a.id < b.id ? -1 : 1));
  if (sec.newestFirst) items.reverse();
  return items;
}

function cards(items, now) {
  return el("div", { class: "cards" }, ...items.map((s) => card(s, state.role, { busy: state.busy.has(s.id), now, draft: state.drafts.get(s.id), checkout: state.checkouts.get(s.id) })));
}

/** The schedule by day, the session under way marked. */
function agenda(items, now) {
  const groups = AGENDA.map((g) => ({ ...g, items: items.filter((s) => g.fits(daysFromToday(s.starts_at, now))) }))
    .filter((g) => g.items.length);
  return el("div", { class: "agenda" }, ...groups.map((g) => el("div", { class: "agenda-day", "data-day": g.key },
    el("h3", { class: "agenda-title" }, g.title), cards(g.items, now))));
}

function render() {
  const role = state.role;
  const container = $("sections");
  const now = Date.now();
  // where the user was typing, to put them back there after the cards are re-drawn
  const active = document.activeElement;
  const focus = active?.id && container.contains(active)
    ? { id: active.id, start: active.selectionStart, end: active.selectionEnd } : null;
  // or the card they were on (after an action, say), drawn anew wherever it now is
  const onCard = !focus && active?.matches?.("article[data-session-id]") ? active.dataset.sessionId : null;
  const total = Object.values(state.summary.counts ?? {}).reduce((a, b) => a + b, 0);
  $("welcome").hidden = !(state.loaded && role === "client" && total === 0);
  const sections = SECTIONS[role].map((sec) => {
    const items = state.loaded ? sectionItems(sec, now) : [];
    if (state.loaded && sec.hideEmpty && !items.length) return null;
    const count = sec.badge ? state.summary.action_required : 0;
    const heading = el("h2", { id: `h-${sec.key}` }, sec.title,
      sec.badge && count ? el("span", { class: "badge", "aria-label": `${count} need your action` }, String(count)) : null);
    let body;
    if (!state.loaded) body = el("p", { class: "placeholder hint", "aria-busy": "true" }, "Loading your sessions…");
    else if (!items.length) body = el("p", { class: "empty hint" }, "Nothing here.");
    else body = sec.agenda ? agenda(items, now) : cards(items, now);
    // a view's next page goes at the end of its last section
    const more = state.loaded && state.cursors[sec.view] && (sec.more || sec.ahead === undefined)
      ? el("button", { type: "button", class: "more", "data-more": sec.view }, "Show more") : null;
    return el("section", { class: `section section-${sec.key}`, "aria-labelledby": `h-${sec.key}`, "data-section": sec.key }, heading, body, more);
  }).filter(Boolean);
  container.replaceChildren(...sections);
  for (const form of container.querySelectorAll("form[data-pay]")) {
    const file = state.drafts.get(form.dataset.pay)?.file;
    if (file) {
      const files = new DataTransfer();
      files.items.add(file);
      form.proof.files = files.files;
    }
  }
  if (focus) {
    const e = document.getElementById(focus.id);
    e?.focus();
    if (e && focus.start != null && "setSelectionRange" in e) e.setSelectionRange(focus.start, focus.end);
  } else if (onCard) {
    container.querySelector(`article[data-session-id="${onCard}"]`)?.focus({ preventScroll: true });
  }

  const n = state.summary.action_required ?? 0;
  const badge = state.loaded
    ? el("a", { href: "#h-action", class: `badge-link${n ? " has" : ""}`, "data-badge": "action" }, "Needs your action", el("span", { class: "badge" }, String(n)))
    : null;
  $("badges").replaceChildren(...[badge].filter(Boolean));
  document.title = n ? `(${n}) Kikao` : "Kikao";
  showUpdated();
}

function showUpdated() {
  $("updated").textContent = state.loading ? "Refreshing…" : state.updatedAt ? `Last updated ${clock(state.updatedAt)}` : "";
}

/** Whether the browser may show notifications (the person allowed them). */
const mayNotify = () => "Notification" in window && Notification.permission === "granted";

/** Offers browser notifications until the person has answered the browser's question. */
function offerAlerts() {
  const b = $("alerts");
  b.hidden = !("Notification" in window) || Notification.permission !== "default";
}

/** Takes in sessions as the server now has them, telling the person of what the other party
 * did (never of their own actions); `all`: these are every session the page holds. */
function takeIn(sessions, summary, all) {
  const previous = state.sessions;
  if (state.loaded) {
    for (const s of sessions) {
      const before = previous.get(s.id);
      if (state.mine.has(s.id)) continue;
      const [text, kind] = announcement(before, s) ?? [];
      if (text) toast(text, kind);
      // something new for this person to do, while they look elsewhere: the browser says so
      if (text && s.action_required && document.visibilityState !== "visible" && mayNotify()) {
        new Notification("Kikao", { body: text.replace(/^\p{Extended_Pictographic}\s*/u, ""), tag: s.id });
      }
    }
  }
  state.mine.clear();
  const next = all ? new Map() : new Map(previous);
  for (const s of sessions) next.set(s.id, s);
  state.sessions = next;
  state.summary = { counts: summary.counts, action_required: summary.action_required };
  state.loaded = true;
}

/** Every view afresh, as many of each as the page showed (at least a page). */
async function readViews() {
  const shown = (v) => [...state.sessions.values()].filter((s) => s.view === v).length;
  const answers = await Promise.all(VIEWS.map((v) => listView(v, { limit: Math.min(100, Math.max(v === "past" ? 20 : 50, shown(v))) })));
  const cursors = {};
  VIEWS.forEach((v, i) => { cursors[v] = answers[i].data.next_cursor; });
  // the oldest of the four: a change between them is caught up on the next poll
  const since = answers.map((a) => a.data.next_since).sort((a, b) => Date.parse(a) - Date.parse(b))[0];
  const last = answers[answers.length - 1].data;
  return { sessions: answers.flatMap((a) => a.data.sessions), cursors, since, etag: answers[0].etag, summary: last };
}

/** The next page of `view`, added to what the page holds. */
async function showMore(view) {
  try {
    const { data } = await listView(view, { limit: 20, cursor: state.cursors[view] });
    for (const s of data.sessions) state.sessions.set(s.id, s);
    state.cursors[view] = data.next_cursor;
    render();
    const next = document.querySelector(`article[data-id="${data.sessions[0]?.id}"] button, article[data-id="${data.sessions[0]?.id}"]`);
    next?.focus?.();
  } catch (e) {
    toast(say(e), "error");
  }
}

/** Brings the page up to date: what changed since the last look, or every view afresh at the
 * start and whenever the server says a catch-up is not enough (`complete: false`). Asked for
 * while a refresh runs, it runs once that one has ended, and resolves then: one follow-up
 * however many asked. */
export async function refresh() {
  if (state.loading) {
    state.again ??= new Promise((resolve) => { state.againDone = resolve; });
    return state.again;
  }
  state.loading = true;
  $("refresh").disabled = true;
  showUpdated();
  const generation = state.generation;
  // the cards are drawn again only when the list changed: an unchanged poll (a 304) leaves
  // them, and what the person is pointing at or typing in, alone
  let changed = false;
  try {
    let delta = state.since ? await pollChanges(state.since) : null;
    let full = null;
    if (!state.since || delta?.complete === false) {
      full = await readViews();
      delta = null;
    }
    if (generation !== state.generation) {
      // read before this page's own action: the follow-up brings what it did
      forgetEtag();
      state.again ??= new Promise((resolve) => { state.againDone = resolve; });
    } else {
      if (full) {
        takeIn(full.sessions, full.summary, true);
        state.cursors = full.cursors;
        state.since = full.since;
        setEtag(full.etag);
        changed = true;
      } else if (delta) {
        takeIn(delta.sessions, delta, false);
        state.since = delta.next_since;
        changed = true;
      }
      state.updatedAt = new Date();
      showError(null);
    }
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return signOut(SESSION_ENDED);
    if (e instanceof ApiError && e.status === 429) {
      // the next poll waits as long as the server asked
      state.quietUntil = Date.now() + (e.retryAfter ?? 30) * 1000;
      schedulePoll();
      showError(`${e.message} The page will try again by itself.`);
    } else {
      showError(`Could not refresh: ${e.message}`);
    }
  } finally {
    state.loading = false;
    $("refresh").disabled = false;
    if (changed || !state.loaded) render();
    else showUpdated();
    if (changed) {
      state.bell?.update();
      state.unmatched?.load();
    }
  }
  if (state.again) {
    const done = state.againDone;
    state.again = null;
    await refresh();
    done();
  }
}

/** Runs an action on the version of the booking the card shows (`If-Match`): shown done at
 * once, rolled back with the server's reason if refused; then the list as it is after it. */
async function act(id, action, call) {
  const before = state.sessions.get(id);
  state.busy.add(id);
  state.mine.add(id);
  state.generation += 1;
  const target = before?.next_status?.[action];
  if (before && target) state.sessions.set(id, { ...before, status: target, actions: [] });
  render();
  const ifMatch = before ? { "if-match": `"${before.version}"` } : {};
  try {
    const { data } = await call(ifMatch);
    if (data?.id) state.sessions.set(data.id, data);
    if (data?.awaiting_other_party) pollFast();
    state.busy.delete(id);
    forgetEtag();
    await refresh();
    // the person's place: the card they acted on, in the section it has moved to
    document.querySelector(`article[data-id="${id}"]`)?.focus();
    return true;
  } catch (e) {
    if (before) state.sessions.set(id, before);
    state.busy.delete(id);
    toast(say(e), "error");
    render();
    // changed by the other person meanwhile: show it as it is now
    if (e instanceof ApiError && e.status === 409) {
      forgetEtag();
      refresh();
    }
    return false;
  }
}

/** Asks for the reason `action` on `s` takes; whether it is required is the server's word
 * (`reasons`). Resolves to the text ("" when skipped), or null when the dialog is dismissed. */
async function askReason(s, action, title, help) {
  const required = s?.reasons?.[action] === "required";
  const d = $("reason-dialog");
  const area = d.querySelector("textarea");
  area.value = "";
  area.required = required;
  $("reason-title").textContent = title;
  $("reason-help").textContent = help;
  const v = await dialogValue(d);
  if (v !== "ok") return null;
  return area.value.trim();
}

async function onAction(id, action) {
  const path = `/api/sessions/${id}`;
  const s = state.sessions.get(id);
  switch (action) {
    case "approve": return act(id, action, (h) => api.put(`${path}/approve`, undefined, h));
    case "verify_payment": return act(id, action, (h) => api.put(`${path}/verify-payment`, undefined, h));
    case "start": return act(id, action, (h) => api.put(`${path}/start`, undefined, h));
    case "complete": return act(id, action, (h) => api.put(`${path}/complete`, undefined, h));
    case "accept_reschedule": return act(id, action, (h) => api.put(`${path}/reschedule/accept`, undefined, h));
    case "decline_reschedule": return act(id, action, (h) => api.put(`${path}/reschedule/decline`, undefined, h));
    case "decline": {
      const reason = await askReason(s, action, "Decline this request", "The client will see your reason.");
      if (reason === null) return false;
      return act(id, action, (h) => api.put(`${path}/decline`, reason ? { reason } : {}, h));
    }
    case "reject_payment": {
      const reason = await askReason(s, action, "Reject this payment", "Tell the client what is wrong; they can pay again.");
      if (reason === null) return false;
      return act(id, action, (h) => api.put(`${path}/reject-payment`, reason ? { reason } : {}, h));
    }
    case "cancel": {
      const other = state.role === "psychologist" ? "client" : "psychologist";
      const need = s?.reasons?.cancel === "required" ? `The ${other} will see your reason.` : `A reason helps the ${other} (optional).`;
      const help = `${need}${s?.refund_if_cancelled ? " A refund will be recorded as due." : ""}`;
      const reason = await askReason(s, action, "Cancel this booking", help);
      if (reason === null) return false;
      return act(id, action, (h) => api.del(path, reason ? { reason } : undefined, h));
    }
    case "reschedule": {
      const d = $("reschedule-dialog");
      const shown = reschedulePicker.show(s.psychologist.id, s.session_type.id);
      const v = await dialogValue(d);
      await shown;
      const starts_at = reschedulePicker.chosen();
      if (v !== "ok" || !starts_at) return false;
      return act(id, action, (h) => api.put(`${path}/reschedule`, { starts_at }, h));
    }
    default: return false;
  }
}

const previewTimers = new Map();

/** Keeps what was typed, and asks the server what a pasted SMS says (after a pause in typing). */
function onPayInput(form, field) {
  const id = form.dataset.pay;
  const d = draft(id);
  if (field.name === "proof") d.file = field.files[0] ?? null;
  else if (field.name in d) d[field.name] = field.value;
  if (field.name !== "mpesa_message") return;
  clearTimeout(previewTimers.get(id));
  previewTimers.set(id, setTimeout(() => preview(id), 400));
}

async function preview(id) {
  const d = draft(id);
  const message = d.mpesa_message.trim();
  let next = null;
  if (message) {
    try {
      const { data } = await api.post("/api/payments/parse-mpesa", { message, session_id: id });
      next = { ok: true, data };
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return signOut(SESSION_ENDED);
      next = { ok: false, message: e.message };
    }
  }
  if (d.mpesa_message.trim() !== message) return; // typed on since; a newer preview follows
  d.preview = next;
  document.getElementById(`pay-${id}-preview`)?.replaceChildren(...previewNodes(next));
}

async function onPay(form) {
  const id = form.dataset.pay;
  const code = form.transaction_code.value.trim();
  const sms = form.mpesa_message.value.trim();
  // a poll may have re-drawn the card since the file was chosen: its new input is empty, and
  // the draft kept the file
  const file = form.proof.files[0] ?? draft(id).file;
  if (!code && !sms) {
    toast("Enter the M-Pesa transaction code or paste the M-Pesa SMS.", "error");
    form.transaction_code.focus();
    return;
  }
  if (file && file.size > 5 * 1024 * 1024) {
    toast("The screenshot is larger than 5 MB; crop it or choose a smaller one.", "error");
    return;
  }
  await act(id, "submit_payment", async (h) => {
    const proof_key = file ? await uploadProof(id, file) : undefined;
    const body = {};
    if (code) body.transaction_code = code;
    if (sms) body.mpesa_message = sms;
    if (proof_key) body.proof_key = proof_key;
    const r = await api.post(`/api/sessions/${id}/submit-payment`, body, h);
    state.drafts.delete(id);
    return r;
  });
}

async function showProof(id) {
  try {
    const { data } = await api.get(`/api/sessions/${id}/payment-proof`);
    const img = $("proof-img");
    img.src = data.url;
    $("proof-dialog").showModal();
  } catch (e) {
    toast(e.message, "error");
  }
}

/** Asks for consent to the privacy notice; true once given. */
async function consent(why = "") {
  try {
    const me = await askConsent(why);
    if (!me) {
      if (state.role === "client") toast("You can read the privacy notice again when you book; booking needs your consent.", "info");
      return false;
    }
    toast("Thank you: your consent is recorded. The notice is on your profile whenever you want to read it again.", "notice");
    return true;
  } catch (e) {
    toast(say(e), "error");
    return false;
  }
}

let directory = [];
let bookingPicker = null;
let reschedulePicker = null;

async function setUpBooking() {
  $("book").hidden = false;
  $("book-link").hidden = false;
  const form = $("book-form");
  const submit = form.querySelector("button[type=submit]");
  bookingPicker = slotPicker($("book-slots"), (chosen) => { submit.disabled = !chosen; });
  const { data } = await api.get("/api/psychologists");
  directory = data.psychologists;
  form.psychologist_id.replaceChildren(...directory.map((p) => el("option", { value: p.id }, p.title ? `${p.name} — ${p.title}` : p.name)));
  const showTypes = () => {
    const p = directory.find((x) => x.id === form.psychologist_id.value);
    form.session_type_id.replaceChildren(...(p?.session_types ?? []).map((t) =>
      el("option", { value: t.id }, `${t.name} · ${t.duration_minutes} min · ${kes(t.price_kes)}`)));
    showType();
  };
  const showType = () => {
    const p = directory.find((x) => x.id === form.psychologist_id.value);
    const t = p?.session_types.find((x) => x.id === form.session_type_id.value);
    $("book-price").textContent = t ? `Price: ${kes(t.price_kes)}, paid by M-Pesa after the psychologist approves.` : "";
    if (p && t) bookingPicker.show(p.id, t.id);
  };
  form.psychologist_id.addEventListener("change", showTypes);
  form.session_type_id.addEventListener("change", showType);
  showTypes();
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const starts_at = bookingPicker.chosen();
    if (!starts_at) return;
    submit.disabled = true;
    try {
      const body = {
        psychologist_id: form.psychologist_id.value,
        session_type_id: form.session_type_id.value,
        starts_at,
      };
      if (form.note.value.trim()) body.note = form.note.value.trim();
      let s;
      try {
        ({ data: s } = await api.post("/api/sessions", body));
      } catch (e) {
        // booking needs the privacy notice accepted: ask, then send the same request once more
        if (!(e instanceof ApiError && e.code === "consent_required")) throw e;
        if (!(await consent(e.message))) return;
        ({ data: s } = await api.post("/api/sessions", body));
      }
      state.mine.add(s.id);
      state.sessions.set(s.id, s);
      // the psychologist answers next: watch closely for a while, as after any such action
      if (s.awaiting_other_party) pollFast();
      form.note.value = "";
      toast("Request sent. You will be told when the psychologist answers.", "notice");
      forgetEtag();
      await refresh();
    } catch (e) {
      toast(say(e), "error");
      // the time may have just been taken, or the hours changed: show what is free now
      await bookingPicker.reload();
    } finally {
      submit.disabled = !bookingPicker.chosen();
    }
  });
}

/** A psychologist paid through a Till or Paybill has M-Pesa's payments to match: the panel,
 * once they have one. */
function showUnmatched(me) {
  if (me.role !== "psychologist" || state.unmatched || !me.payment_method || me.payment_method === "personal") return;
  const waiting = () => [...state.sessions.values()]
    .filter((s) => ["approved", "payment_submitted"].includes(s.status))
    .sort((a, b) => a.starts_at.localeCompare(b.starts_at));
  state.unmatched = unmatchedPanel({ waiting, say, toast, onAttached: () => { forgetEtag(); refresh(); } });
  state.unmatched.load();
}

/** Asks for the payment request on the client's phone, then follows it until it is paid or
 * not: the server's sentence says what happened and what to do. */
async function payByMpesa(button) {
  const id = button.dataset.stk;
  button.disabled = true;
  try {
    const { data } = await api.post(`/api/sessions/${id}/pay-by-mpesa`, {});
    state.checkouts.set(id, data);
    toast(data.message, "notice");
    render();
    followCheckout(id, data.checkout_id, Date.now() + 120000);
  } catch (e) {
    toast(say(e), "error");
    button.disabled = false;
  }
}

async function followCheckout(sessionId, checkoutId, until) {
  await new Promise((r) => setTimeout(r, 2000));
  try {
    const { data } = await api.get(`/api/payments/checkouts/${encodeURIComponent(checkoutId)}`);
    const said = state.checkouts.get(sessionId)?.message;
    state.checkouts.set(sessionId, data);
    // the sentence may change while pending (M-Pesa says paid, its receipt not yet come)
    if (data.message !== said) render();
    if (data.state === "pending" && Date.now() < until) return followCheckout(sessionId, checkoutId, until);
    if (data.state === "pending") state.checkouts.delete(sessionId);
    toast(data.state === "pending" ? "No answer from M-Pesa yet: if you paid, your booking is confirmed as soon as it arrives." : data.message,
      data.state === "failed" ? "error" : "notice");
    forgetEtag();
    await refresh();
    render();
  } catch (e) {
    toast(say(e), "error");
  }
}

/** The dev server's stand-in for the client's phone answering a payment request. */
async function devPhone(button) {
  button.disabled = true;
  const res = await fetch(`/dev/mpesa/stk/${encodeURIComponent(button.dataset.phone)}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ result_code: Number(button.dataset.result) }),
  });
  if (!res.ok) toast("The dev server's phone did not answer.", "error");
}

/** The dev server's stand-in for paying a Till or Paybill by hand: it posts M-Pesa's report of
 * the payment to Kikao's callback, as Safaricom would. */
async function devPay(button) {
  button.disabled = true;
  try {
    const res = await fetch("/dev/mpesa/pay", {
      method: "POST",
      headers: { authorization: `Bearer ${token()}`, "content-type": "application/json" },
      body: JSON.stringify({ session_id: button.dataset.devPay }),
    });
    if (!res.ok) throw new Error((await res.json()).error?.message ?? "The dev server did not pay.");
    toast("Paid. M-Pesa's report reached Kikao.", "notice");
    forgetEtag();
    await refresh();
  } catch (e) {
    toast(say(e), "error");
    button.disabled = false;
  }
}

function wire() {
  $("refresh").addEventListener("click", () => refresh());
  $("signout").addEventListener("click", () => signOut());
  $("open-profile").addEventListener("click", () => openProfile(state.role, (me) => {
    setTimeZone(me.time_zone);
    showUnmatched(me);
    render();
  }, toast));
  $("sections").addEventListener("click", (ev) => {
    const b = ev.target.closest("button");
    if (!b) return;
    if (b.dataset.action) onAction(b.dataset.id, b.dataset.action);
    else if (b.dataset.proof) showProof(b.dataset.proof);
    else if (b.dataset.more) showMore(b.dataset.more);
    else if (b.dataset.details) openDetails(b.dataset.details, state.role, (e) => toast(say(e), "error"));
    else if (b.dataset.ics) downloadIcs(state.sessions.get(b.dataset.ics), state.role);
    else if (b.dataset.devPay) devPay(b);
    else if (b.dataset.stk) payByMpesa(b);
    else if (b.dataset.phone) devPhone(b);
    else if (b.dataset.bookAgain) {
      const form = $("book-form");
      form.psychologist_id.value = b.dataset.bookAgain;
      form.psychologist_id.dispatchEvent(new Event("change"));
      $("book").scrollIntoView({ behavior: "smooth" });
      form.psychologist_id.focus();
    }
  });
  for (const type of ["input", "change"]) {
    $("sections").addEventListener(type, (ev) => {
      const form = ev.target.closest("form[data-pay]");
      if (form && ev.target.name) onPayInput(form, ev.target);
    });
  }
  $("sections").addEventListener("submit", (ev) => {
    const form = ev.target.closest("form[data-pay]");
    if (!form) return;
    ev.preventDefault();
    onPay(form);
  });
  $("alerts").addEventListener("click", async () => {
    await Notification.requestPermission();
    offerAlerts();
    if (mayNotify()) toast("You will be notified of new requests and payments while Kikao is in the background.", "notice");
  });
  offerAlerts();
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") refresh();
    schedulePoll();
  });
  window.addEventListener("focus", () => refresh());
  reschedulePicker = slotPicker($("reschedule-slots"), (chosen) => {
    $("reschedule-dialog").querySelector("button[value=ok]").disabled = !chosen;
  });
}

/** How often to poll now (config.json may shorten each, for the tests). */
let cadence = { visible: 30000, fast: 5000, fastFor: 120000, hidden: 120000 };
let pollTimer = null;

function nextPollIn() {
  const quiet = Math.max(0, (state.quietUntil ?? 0) - Date.now());
  if (document.visibilityState !== "visible") return Math.max(quiet, cadence.hidden);
  return Math.max(quiet, Date.now() < state.fastUntil ? Math.min(cadence.fast, cadence.visible) : cadence.visible);
}

/** Polls on the cadence of the moment; called again after each poll and whenever it changes. */
function schedulePoll() {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(async () => {
    await refresh();
    schedulePoll();
  }, nextPollIn());
}

/** The other person has something to do: watch closely for a while. */
function pollFast() {
  state.fastUntil = Date.now() + cadence.fastFor;
  schedulePoll();
}

async function main() {
  const user = signedInUser();
  if (!token() || !user) {
    location.assign("/");
    return;
  }
  const cfg = await config();
  const mfa = mfaBanner(MFA_NEEDED, () => toast(MFA_DONE, "notice"));
  wire();
  try {
    const { data: me } = await api.get("/api/me");
    if (!SECTIONS[me.role]) {
      // a practice admin with no bookings of their own has the admin page, not this one
      if (me.admin) return location.assign("/admin.html");
      showError("This account has no bookings dashboard.");
      return;
    }
    state.role = me.role;
    state.me = me;
    state.bell = bell(me.role, me.id, (id) => openDetails(id, me.role, (e) => toast(say(e), "error")));
    $("welcome-name").textContent = me.name.split(" ")[0] || me.name;
    setTimeZone(me.time_zone);
    $("who").textContent = `${me.name} · ${me.role === "psychologist" ? "Psychologist" : "Client"}${me.admin ? " · Practice admin" : ""}`;
    $("admin-link").hidden = !me.admin;
    if (me.mfa_required && !me.mfa) mfa.show();
    // asked at the first sign-in and whenever the notice changes; a psychologist without two-step
    // sign-in can change nothing yet, so they are asked once they have it
    else if (!me.consent_current) consent();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return signOut(SESSION_ENDED);
    if (e instanceof ApiError && e.status === 403 && await homePage() === "/admin.html") return location.assign("/admin.html");
    showError(`Could not load your profile: ${e.message}`);
    return;
  }
  // the sections, each with its placeholder, until the first list arrives
  render();
  if (state.role === "client") await setUpBooking().catch((e) => showError(e.message));
  if (state.role === "psychologist") {
    statementPanel({ say, toast, dev: cfg.auth === "dev", onVerified: () => { forgetEtag(); refresh(); } });
    showUnmatched(state.me);
  }
  offerDevPayments(state.role === "client" && cfg.auth === "dev");
  cadence = {
    visible: cfg.poll_ms ?? cadence.visible,
    fast: cfg.fast_poll_ms ?? cadence.fast,
    fastFor: cfg.fast_poll_for_ms ?? cadence.fastFor,
    hidden: cfg.hidden_poll_ms ?? cadence.hidden,
  };
  await refresh();
  schedulePoll();
  // relative times ("2 hours ago") age between polls
  setInterval(render, 60000);
}

main();
