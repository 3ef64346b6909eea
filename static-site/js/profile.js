// The profile panel (PUT /api/me): a psychologist's name, title, M-Pesa number, time zone and
// session types with prices; a client's phone and notification choices.

import { api } from "./api.js";
import { el } from "./cards.js";

const $ = (id) => document.getElementById(id);

function typeRow(t = { name: "", duration_minutes: 60, price_kes: 2000 }) {
  const row = el("div", { class: "type-row", "data-type-id": t.id ?? "" },
    el("label", {}, "Name ", el("input", { name: "type_name", value: t.name, required: true, maxLength: 80 })),
    el("label", {}, "Minutes ", el("input", { name: "type_minutes", type: "number", min: 15, max: 240, step: 15, value: t.duration_minutes, required: true })),
    el("label", {}, "Price (KSh) ", el("input", { name: "type_price", type: "number", min: 1, max: 1000000, step: 1, value: t.price_kes, required: true })),
    el("button", { type: "button", class: "link", "data-remove": "1" }, "Remove"));
  return row;
}

let wired = false;

export async function openProfile(role, onSaved, toast) {
  const dialog = $("profile-dialog");
  const form = $("profile-form");
  $("profile-error").textContent = "";
  for (const part of form.querySelectorAll("[data-role]")) part.hidden = part.dataset.role !== role;
  const { data: me } = await api.get("/api/me");
  form.name.value = me.name;
  form.time_zone.value = me.time_zone;
  if (role === "psychologist") {
    form.title.value = me.title ?? "";
    form.mpesa_number.value = me.mpesa_number ?? "";
    $("types").replaceChildren(...(me.session_types ?? []).map(typeRow));
  } else {
    form.phone.value = me.phone ?? "";
    form.notify_sms.checked = me.notify_sms;
    form.notify_email.checked = me.notify_email;
  }
  if (!wired) {
    wired = true;
    $("add-type").addEventListener("click", () => $("types").append(typeRow()));
    $("types").addEventListener("click", (ev) => {
      if (ev.target.dataset.remove) ev.target.closest(".type-row").remove();
    });
    $("profile-close").addEventListener("click", () => dialog.close());
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const r = form.dataset.role;
      const body = { name: form.name.value, time_zone: form.time_zone.value };
      if (r === "psychologist") {
        body.title = form.title.value;
        if (form.mpesa_number.value.trim()) body.mpesa_number = form.mpesa_number.value;
        body.session_types = [...$("types").querySelectorAll(".type-row")].map((row) => {
          const t = {
            name: row.querySelector("[name=type_name]").value,
            duration_minutes: Number(row.querySelector("[name=type_minutes]").value),
            price_kes: Number(row.querySelector("[name=type_price]").value),
          };
          if (row.dataset.typeId) t.id = row.dataset.typeId;
          return t;
        });
      } else {
        body.phone = form.phone.value;
        body.notify_sms = form.notify_sms.checked;
        body.notify_email = form.notify_email.checked;
      }
      try {
        const { data } = await api.put("/api/me", body);
        dialog.close();
        saved(data);
        notify("Profile saved.", "notice");
      } catch (e) {
        $("profile-error").textContent = e.message;
      }
    });
  }
  form.dataset.role = role;
  saved = onSaved;
  notify = toast;
  dialog.showModal();
}

let saved = () => {};
let notify = () => {};
