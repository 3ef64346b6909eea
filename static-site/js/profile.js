// The profile panel (PUT /api/me): a psychologist's name, title, M-Pesa number, time zone,
// session types with prices and availability (working hours, time off, the break between
// sessions, notice and how far ahead); a client's notification choices; everyone's phone for SMS
// (with whether it is confirmed, and the way to confirm it) and reminders; and the person's
// information: the privacy notice they accepted, the download of their data and, for a client,
// closing the account with their data erased. The server checks
// every value and answers with the sentence shown here.

import { api } from "./api.js";
import { el } from "./cards.js";
import { MFA_NEEDED, MFA_ON } from "./mfa.js";
import { confirmPhone, phoneState } from "./phone.js";
import { askConsent, askErasure, consentState, downloadMyData } from "./privacy.js";
import { signOut } from "./auth.js";

const $ = (id) => document.getElementById(id);

function typeRow(t = { name: "", duration_minutes: 60, price_kes: 2000 }) {
  const row = el("div", { class: "type-row", "data-type-id": t.id ?? "" },
    el("label", {}, "Name ", el("input", { name: "type_name", value: t.name, required: true, maxLength: 80 })),
    el("label", {}, "Minutes ", el("input", { name: "type_minutes", type: "number", min: 15, max: 240, step: 15, value: t.duration_minutes, required: true })),
    el("label", {}, "Price (KSh) ", el("input", { name: "type_price", type: "number", min: 1, max: 1000000, step: 1, value: t.price_kes, required: true })),
    el("button", { type: "button", class: "link", "data-remove": "1" }, "Remove"));
  return row;
}

const DAYS = [["mon", "Monday"], ["tue", "Tuesday"], ["wed", "Wednesday"], ["thu", "Thursday"], ["fri", "Friday"], ["sat", "Saturday"], ["sun", "Sunday"]];

function hoursRow(h = { weekday: "mon", start: "09:00", end: "17:00" }) {
  const day = el("select", { name: "weekday" }, ...DAYS.map(([v, name]) => el("option", { value: v }, name)));
  day.value = h.weekday;
  return el("div", { class: "hours-row" },
    el("label", {}, "Day ", day),
    el("label", {}, "From ", el("input", { name: "start", type: "time", step: 900, value: h.start, required: true })),
    el("label", {}, "To ", el("input", { name: "end", type: "time", step: 900, value: h.end, required: true })),
    el("button", { type: "button", class: "link", "data-remove": "1" }, "Remove"));
}

function timeOffRow(t = { from: "", to: "" }) {
  return el("div", { class: "hours-row" },
    el("label", {}, "First day ", el("input", { name: "from", type: "date", value: t.from, required: true })),
    el("label", {}, "Last day ", el("input", { name: "to", type: "date", value: t.to, required: true })),
    el("button", { type: "button", class: "link", "data-remove": "1" }, "Remove"));
}

const field = (row, name) => row.querySelector(`[name=${name}]`).value;

/** The IANA zones the browser knows, for the time zone field to search (the server checks
 * the one chosen). */
function fillZones() {
  const list = $("time-zones");
  if (list.childElementCount || !Intl.supportedValuesOf) return;
  list.replaceChildren(...Intl.supportedValuesOf("timeZone").map((z) => el("option", { value: z })));
}

let wired = false;

/** The saved number and where it stands, as the last `GET`/`PUT /api/me` said. */
let savedPhone = null;
/** Where clients paid when the profile was opened: only a change of it is sent. */
let savedBusiness = {};

/** The Till or Paybill number is asked for only when clients pay to one. */
function showBusiness() {
  const form = $("profile-form");
  const business = form.payment_method.value !== "personal";
  const label = form.querySelector("[data-business]");
  label.hidden = !business;
  form.business_number.disabled = !business;
  form.business_number.required = business;
}

function showPhone(me) {
  savedPhone = me.phone ?? null;
  const s = phoneState(me);
  $("phone-state").textContent = s.text;
  $("phone-confirm").hidden = !s.confirm;
}

/** Confirms the saved number; afterwards the server says where it stands. */
async function confirmSaved() {
  if (!savedPhone || !await confirmPhone(savedPhone)) return;
  const { data: me } = await api.get("/api/me");
  showPhone(me);
}

export async function openProfile(role, onSaved, toast) {
  const dialog = $("profile-dialog");
  const form = $("profile-form");
  $("profile-error").textContent = "";
  $("profile-mfa").hidden = true;
  for (const part of form.querySelectorAll("[data-role]")) {
    part.hidden = part.dataset.role !== role;
    // the other role's fields are neither shown nor checked by the form
    for (const c of part.querySelectorAll("input, select, textarea, button")) c.disabled = part.hidden;
  }
  const { data: me } = await api.get("/api/me");
  form.name.value = me.name;
  form.time_zone.value = me.time_zone;
  fillZones();
  form.notify_reminders.checked = me.notify_reminders;
  form.phone.value = me.phone ?? "";
  showPhone(me);
  $("consent-state").textContent = consentState(me);
  if (role === "psychologist") {
    form.title.value = me.title ?? "";
    form.mpesa_number.value = me.mpesa_number ?? "";
    savedBusiness = { method: me.payment_method, number: me.business_number };
    form.payment_method.value = me.payment_method ?? "personal";
    form.business_number.value = me.business_number ?? "";
    showBusiness();
    $("types").replaceChildren(...(me.session_types ?? []).map(typeRow));
    const a = me.availability;
    $("hours").replaceChildren(...a.weekly.map(hoursRow));
    $("time-off").replaceChildren(...a.time_off.map(timeOffRow));
    form.buffer_minutes.value = a.buffer_minutes;
    form.notice_hours.value = a.notice_minutes / 60;
    form.horizon_days.value = a.horizon_days;
  } else {
    form.notify_sms.checked = me.notify_sms;
    form.notify_email.checked = me.notify_email;
  }
  if (!wired) {
    wired = true;
    form.payment_method.addEventListener("change", showBusiness);
    $("add-type").addEventListener("click", () => $("types").append(typeRow()));
    $("add-hours").addEventListener("click", () => $("hours").append(hoursRow()));
    $("add-time-off").addEventListener("click", () => $("time-off").append(timeOffRow()));
    for (const list of ["types", "hours", "time-off"]) {
      $(list).addEventListener("click", (ev) => {
        if (ev.target.dataset.remove) ev.target.closest(".type-row, .hours-row").remove();
      });
    }
    $("profile-close").addEventListener("click", () => dialog.close());
    $("phone-confirm").addEventListener("click", confirmSaved);
    $("read-notice").addEventListener("click", async () => {
      try {
        const after = await askConsent();
        if (after) $("consent-state").textContent = consentState(after);
      } catch (e) {
        $("profile-error").textContent = e.message;
      }
    });
    $("erase-account").addEventListener("click", async () => {
      const done = await askErasure();
      if (done) await signOut(done.message);
    });
    $("download-data").addEventListener("click", async (ev) => {
      ev.target.disabled = true;
      try {
        await downloadMyData();
        notify("Your data is downloaded: one JSON file with your profile and every booking.", "notice");
      } catch (e) {
        $("profile-error").textContent = e.message;
      } finally {
        ev.target.disabled = false;
      }
    });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const r = form.dataset.role;
      const body = { name: form.name.value, phone: form.phone.value, time_zone: form.time_zone.value, notify_reminders: form.notify_reminders.checked };
      if (r === "psychologist") {
        body.title = form.title.value;
        if (form.mpesa_number.value.trim()) body.mpesa_number = form.mpesa_number.value;
        // sent only when it changes: a change of where clients pay asks for a fresh sign-in
        const method = form.payment_method.value;
        const number = form.business_number.value.trim();
        if (method !== (savedBusiness.method ?? "personal") || (method !== "personal" && number !== (savedBusiness.number ?? ""))) {
          body.payment_method = method;
          if (method !== "personal") body.business_number = number;
        }
        body.session_types = [...$("types").querySelectorAll(".type-row")].map((row) => {
          const t = {
            name: row.querySelector("[name=type_name]").value,
            duration_minutes: Number(row.querySelector("[name=type_minutes]").value),
            price_kes: Number(row.querySelector("[name=type_price]").value),
          };
          if (row.dataset.typeId) t.id = row.dataset.typeId;
          return t;
        });
        body.availability = {
          weekly: [...$("hours").children].map((row) => ({ weekday: field(row, "weekday"), start: field(row, "start"), end: field(row, "end") })),
          time_off: [...$("time-off").children].map((row) => ({ from: field(row, "from"), to: field(row, "to") })),
          buffer_minutes: Number(form.buffer_minutes.value),
          notice_minutes: Math.round(Number(form.notice_hours.value) * 60),
          horizon_days: Number(form.horizon_days.value),
        };
      } else {
        body.notify_sms = form.notify_sms.checked;
        body.notify_email = form.notify_email.checked;
      }
      try {
        const before = savedPhone;
        const { data } = await api.put("/api/me", body);
        savedBusiness = { method: data.payment_method, number: data.business_number };
        dialog.close();
        saved(data);
        showPhone(data);
        // a new number is of no use until it is confirmed: ask for the code straight away
        if (data.phone && !data.phone_verified && data.phone !== before) {
          notify("Profile saved. Confirm your new number to get SMS.", "notice");
          confirmSaved();
        } else {
          notify("Profile saved.", "notice");
        }
      } catch (e) {
        // two-step sign-in first: said the page's way, with the way to set it up at hand
        const mfa = e.code === "mfa_required";
        $("profile-error").textContent = mfa ? MFA_NEEDED : e.message;
        $("profile-mfa").hidden = !mfa;
      }
    });
    document.addEventListener(MFA_ON, () => {
      $("profile-mfa").hidden = true;
      $("profile-error").textContent = "";
    });
  }
  form.dataset.role = role;
  saved = onSaved;
  notify = toast;
  dialog.showModal();
}

let saved = () => {};
let notify = () => {};
