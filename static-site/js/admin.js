// The practice admin page: the practice's psychologists (GET /api/admin/psychologists), an
// invitation for a new one (POST), and ending one's access (POST .../deactivate), which the
// server turns into: signed out, out of the directory, open bookings cancelled and the clients
// told. The server decides who may do this (403 `forbidden` for anyone not a practice admin);
// this page only says so in words. Until an admin has two-step sign-in, their writes answer
// `403 mfa_required`, and the page offers the setup as the dashboard does.

import { token, signedInUser, signOut, homePage, tokenSaysMfa, SESSION_ENDED } from "./auth.js";
import { api, ApiError } from "./api.js";
import { el } from "./cards.js";
import { localPhone, setTimeZone, timeZone } from "./format.js";
import { mfaBanner, MFA_DONE } from "./mfa.js";
import { dialogValue } from "./dialog.js";

const $ = (id) => document.getElementById(id);

const MFA_NEEDED_ADMIN = "Set up two-step sign-in to invite or deactivate psychologists.";
const FORBIDDEN = "This page is for practice admins, and your account is not one. Your bookings are on your dashboard.";

let people = [];
let mfa;

const say = (e) => (e instanceof ApiError && e.code === "mfa_required" ? MFA_NEEDED_ADMIN : e.message);

function day(iso) {
  return new Intl.DateTimeFormat("en-KE", { timeZone: timeZone(), day: "numeric", month: "short", year: "numeric" }).format(new Date(iso));
}

function showError(message) {
  $("error").textContent = message ?? "";
  $("error").hidden = !message;
}

function row(p) {
  const status = p.active
    ? el("span", { class: "state state-active" }, "Active")
    : el("span", { class: "state state-off" }, p.deactivated_at ? `Deactivated ${day(p.deactivated_at)}` : "Deactivated");
  const action = p.active
    ? el("button", { type: "button", class: "danger", "data-deactivate": p.id },
      "Deactivate", el("span", { class: "visually-hidden" }, ` ${p.name}`))
    : null;
  return el("tr", { class: p.active ? "active" : "inactive", "data-id": p.id },
    el("th", { scope: "row" }, p.name,
      p.invited_at ? el("span", { class: "invited hint" }, `Invited ${day(p.invited_at)}`) : null),
    el("td", { "data-label": "Email" }, p.email ?? ""),
    el("td", { "data-label": "Phone" }, localPhone(p.phone),
      // they get no SMS until they confirm it from their profile
      p.phone && !p.phone_verified ? el("span", { class: "hint" }, " (not confirmed yet)") : ""),
    el("td", { "data-label": "Status", class: "status" }, status),
    el("td", { class: "action" }, action ?? ""));
}

function render() {
  $("psychologists").tBodies[0].replaceChildren(...people.map(row));
  $("none").hidden = people.length > 0;
}

async function loadList() {
  const { data } = await api.get("/api/admin/psychologists");
  people = data.psychologists;
  render();
}

async function deactivate(id, button) {
  const p = people.find((x) => x.id === id);
  if (!p) return;
  $("deactivate-title").textContent = `Deactivate ${p.name}?`;
  $("deactivate-ok").textContent = `Deactivate ${p.name}`;
  if (await dialogValue($("deactivate-dialog")) !== "ok") return;
  button.disabled = true;
  $("announce").textContent = "";
  $("action-error").textContent = "";
  try {
    const { data } = await api.post(`/api/admin/psychologists/${encodeURIComponent(id)}/deactivate`, {});
    const n = data.cancelled_bookings ?? 0;
    people = people.map((x) => (x.id === id ? { ...x, ...data.psychologist } : x));
    render();
    $("list-title").focus();
    $("announce").textContent = n === 0
      ? `Deactivated ${p.name}; they had no open bookings.`
      : `Deactivated ${p.name}; ${n} open booking${n === 1 ? "" : "s"} cancelled and their clients told.`;
    loadList().catch(() => {}); // the server's word on the row, quietly
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return signOut(SESSION_ENDED);
    button.disabled = false;
    $("action-error").textContent = say(e);
  }
}

function wire() {
  $("signout").addEventListener("click", () => signOut());
  $("psychologists").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-deactivate]");
    if (b) deactivate(b.dataset.deactivate, b);
  });
  const form = $("invite-form");
  const submit = form.querySelector("button[type=submit]");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("invite-status").textContent = "";
    $("invite-error").textContent = "";
    const body = { name: form.name.value.trim(), email: form.email.value.trim(), phone: form.phone.value.trim() };
    const missing = [["name", "the psychologist's name"], ["email", "the email address the invitation goes to"], ["phone", "their mobile number"]]
      .find(([k]) => !body[k]);
    if (missing) {
      $("invite-error").textContent = `Give ${missing[1]}.`;
      form[missing[0]].focus();
      return;
    }
    submit.disabled = true;
    try {
      const { data } = await api.post("/api/admin/psychologists", body);
      form.reset();
      $("invite-status").textContent = `Invitation sent to ${data.email ?? body.email}.`;
      if (!people.some((x) => x.id === data.id)) {
        people = [...people, data].sort((a, b) => a.name.localeCompare(b.name));
        render();
      }
      loadList().catch(() => {});
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return signOut(SESSION_ENDED);
      $("invite-error").textContent = say(e);
    } finally {
      submit.disabled = false;
    }
  });
}

async function main() {
  if (!token() || !signedInUser()) {
    location.assign("/");
    return;
  }
  mfa = mfaBanner(MFA_NEEDED_ADMIN, () => {
    $("announce").textContent = `${MFA_DONE} You can invite and deactivate psychologists.`;
    $("action-error").textContent = "";
    $("invite-error").textContent = "";
  });
  wire();
  $("who").textContent = signedInUser().name ?? "";
  // who they are, and whether they also have a bookings dashboard. Someone who only administers
  // has no bookings profile (GET /api/me answers them 403 no_role), so they are not asked; their
  // token says whether they have two-step sign-in.
  const adminOnly = await homePage() === "/admin.html";
  if (adminOnly) $("who").textContent = `${signedInUser().name ?? ""} · Practice admin`;
  const me = adminOnly ? Promise.resolve(null) : api.get("/api/me").then(({ data }) => data, () => null);
  try {
    await loadList();
    $("admin").hidden = false;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return signOut(SESSION_ENDED);
    if (e instanceof ApiError && e.status === 403 && e.code !== "mfa_required") {
      $("forbidden-text").textContent = FORBIDDEN;
      $("forbidden").hidden = false;
    } else {
      showError(`Could not load the psychologists: ${say(e)}`);
    }
  } finally {
    $("loading").hidden = true;
  }
  const profile = await me;
  if (profile) {
    setTimeZone(profile.time_zone);
    if (people.length) render(); // dates in their zone
    $("who").textContent = `${profile.name}${profile.admin ? " · Practice admin" : ""}`;
    $("dashboard-link").hidden = !["psychologist", "client"].includes(profile.role);
    if (profile.mfa_required && !profile.mfa) mfa.show();
  } else if (adminOnly && !tokenSaysMfa() && $("forbidden").hidden) {
    mfa.show();
  }
}

main();
