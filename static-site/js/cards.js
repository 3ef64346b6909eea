// One booking as a card, in the seed's wording, for the person looking at it. The buttons come
// from the session's `actions` (the server's rules); this file only decides how they look.

import { kes, when, ago, localPhone } from "./format.js";

const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  e.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return e;
};
export { el };

const TITLES = {
  client: {
    pending_approval: "Your Booking Request", approved: "Payment Required", payment_submitted: "Payment Under Review",
    confirmed: "Confirmed Session", in_progress: "Session in Progress", completed: "Completed Session",
    declined: "Booking Declined", cancelled: "Booking Cancelled",
  },
  psychologist: {
    pending_approval: "New Booking Request", approved: "Approved - Waiting for Payment", payment_submitted: "Payment Submitted - Verify",
    confirmed: "Upcoming Session", in_progress: "Session in Progress", completed: "Completed Session",
    declined: "Declined Request", cancelled: "Cancelled Session",
  },
};

const STATUS_LINE = {
  client: {
    pending_approval: "⏳ Waiting for therapist approval", approved: "✅ Approved! Please submit payment",
    payment_submitted: "💰 Payment submitted, waiting for verification", confirmed: "✅ Confirmed! Session ready",
    in_progress: "🎥 Your session has started", completed: "✔️ Completed", declined: "❌ Therapist not available",
    cancelled: "⛔ Cancelled",
  },
  psychologist: {
    pending_approval: "⏳ Awaiting your approval", approved: "✅ Approved, payment instructions sent",
    payment_submitted: "💰 Payment proof submitted", confirmed: "✅ Confirmed", in_progress: "🎥 In progress",
    completed: "✔️ Completed", declined: "❌ Declined", cancelled: "⛔ Cancelled",
  },
};

export const ACTION_LABELS = {
  approve: "✅ Approve", decline: "❌ Decline", submit_payment: "Submit Payment Proof", verify_payment: "✅ Verify Payment",
  reject_payment: "❌ Reject", accept_reschedule: "Accept new time", decline_reschedule: "Keep current time",
  start: "Start Session", complete: "Complete Session", reschedule: "Reschedule", cancel: "Cancel",
};

/** What each change to a booking was, said of whoever made it ("You approved", "The client
 * submitted a payment"): the bell and a booking's history read the same words. */
const DONE = {
  book: "requested the session", approve: "approved", decline: "declined", cancel: "cancelled",
  submit_payment: "submitted a payment", verify_payment: "verified the payment", reject_payment: "did not accept the payment",
  reschedule: "proposed a new time", accept_reschedule: "accepted the new time", decline_reschedule: "kept the current time",
  start: "started the session", complete: "completed the session", expire: "expired the booking (no answer or payment in time)",
  withdraw: "withdrew the booking", paid_by_mpesa: "confirmed it: M-Pesa reported the payment",
  attach_payment: "took an M-Pesa payment as this booking's",
};

/** A change in words, as `role` reads it: who made it (`by`: a role or `system`), and what. */
export function changeText(by, action, role) {
  const who = by === role ? "You" : by === "system" ? "Kikao" : by === "client" ? "The client" : "The psychologist";
  return `${who} ${DONE[action] ?? action}`;
}

function row(label, ...value) {
  return el("div", { class: "row-item" }, el("dt", {}, label), el("dd", {}, ...value));
}

/** Where and how to pay, as the server says (`payment_instructions.method`). Through a Till or
 * Paybill M-Pesa reports the payment itself; the form to send a code stays for anyone who
 * prefers it. `devPay` adds the dev server's stand-in for paying. */
function instructions(pi, s, devPay, checkout) {
  const amount = el("strong", {}, kes(pi.amount_kes));
  const lines = pi.method === "personal"
    ? [el("p", {}, `Send ${kes(pi.amount_kes)} to M-Pesa: `, el("strong", { class: "mpesa" }, localPhone(pi.mpesa_number))),
      el("p", {}, "Reference: ", el("strong", {}, pi.reference))]
    : pi.method === "paybill"
      ? [el("p", {}, "Lipa na M-Pesa → Pay Bill. Business number ", el("strong", { class: "mpesa" }, pi.business_number),
        ", account number ", el("strong", { class: "account" }, pi.account), ", amount ", amount, "."),
      el("p", { class: "hint" }, "Your booking is confirmed as soon as M-Pesa tells Kikao of the payment; there is nothing to send.")]
      : [el("p", {}, "Lipa na M-Pesa → Buy Goods. Till number ", el("strong", { class: "mpesa" }, pi.business_number), ", amount ", amount, "."),
        el("p", { class: "hint" }, "Your booking is confirmed as soon as M-Pesa tells Kikao of the payment. If it is not within a few minutes, send the transaction code below.")];
  const pending = checkout?.state === "pending";
  // a payment request on the phone: the quickest way, where M-Pesa reports the payment
  const stk = pi.method === "personal" ? null : pending
    ? el("p", { class: "info", role: "status" }, `📱 ${checkout.message}`)
    : el("button", { type: "button", class: "action primary", "data-stk": s.id }, `Pay ${kes(pi.amount_kes)} now`);
  const phone = devPay && pending
    ? el("p", { class: "dev-phone" }, "Dev server phone: ",
      el("button", { type: "button", class: "action secondary", "data-phone": checkout.checkout_id, "data-result": "0" }, "Enter the PIN"),
      el("button", { type: "button", class: "action secondary", "data-phone": checkout.checkout_id, "data-result": "1032" }, "Cancel on the phone"))
    : null;
  return el("div", { class: "instructions", "data-method": pi.method },
    el("strong", {}, "Payment instructions"), stk, phone, ...lines,
    devPay && pi.method !== "personal"
      ? el("button", { type: "button", class: "action secondary", "data-dev-pay": s.id }, "Pay it by M-Pesa (dev server stand-in)")
      : null);
}

/** Whether cards offer the dev server's stand-in for paying by M-Pesa. */
let devPay = false;
export function offerDevPayments(on) {
  devPay = on;
}

/** The card for `s` as `role` sees it. `busy` greys it while an action is on its way. */
export function card(s, role, { busy = false, now = Date.now(), draft, checkout } = {}) {
  const other = role === "client" ? ["Therapist", s.psychologist.name] : ["Client", s.client.name];
  const price = s.paid ? `${kes(s.price_kes)} (Paid ✓)` : kes(s.price_kes);
  const rows = [
    row(other[0], other[1]),
    row("Type", `${s.session_type.name} · ${s.session_type.duration_minutes} min`),
    row("Date", el("time", { dateTime: s.starts_at }, when(s.starts_at))),
    row("Price", price),
    row("Status", el("span", { class: "status-line" }, STATUS_LINE[role][s.status])),
  ];
  const extra = [];
  if (role === "psychologist" && s.note) rows.push(row("Note", s.note));
  if (role === "psychologist" && s.status === "pending_approval") {
    rows.push(row("Requested", ago(s.requested_at, now)));
    if (s.overlaps_held_session) {
      extra.push(el("p", { class: "warning" }, "⚠️ Overlaps a session you are already holding: approving it will fail unless that one is cancelled."));
    }
  }
  if (s.status === "approved") {
    if (role === "psychologist" && s.approved_at) rows.push(row("Approved", ago(s.approved_at, now)));
    if (s.payment_deadline) rows.push(row("Pay by", when(s.payment_deadline)));
  }
  const pi = s.payment_instructions;
  if (pi) extra.push(instructions(pi, s, devPay, checkout));
  const p = s.payment;
  if (p && s.status === "approved" && p.rejection_reason) {
    extra.push(el("p", { class: "warning", role: "note" }, `Your previous proof (${p.transaction_code}) was not accepted: ${p.rejection_reason}`));
  }
  if (p && ["payment_submitted", "confirmed", "in_progress", "completed"].includes(s.status)) {
    rows.push(row("Transaction", el("code", {}, p.transaction_code)));
    if (p.by_mpesa) rows.push(row("Paid", "by M-Pesa, confirmed automatically"));
    if (role === "psychologist" && s.status === "payment_submitted") {
      rows.push(row("Submitted", ago(p.submitted_at, now)));
      if (p.earlier_rejection) {
        const r = p.earlier_rejection;
        extra.push(el("p", { class: "warning" }, `⚠ You rejected this code on ${when(r.rejected_at)}${r.reason ? `: “${r.reason}”` : ""}. The client sent it again.`));
      }
      extra.push(checksList(p.checks));
      // the money itself is on the psychologist's statement, checked in the panel below
      extra.push(el("a", { href: "#statement", class: "statement-check" }, "Check it against your M-Pesa statement"));
      if (p.has_proof) extra.push(el("button", { type: "button", class: "link", "data-proof": s.id }, "🖼️ View screenshot"));
    }
  }
  if (s.meeting_link) {
    const label = role === "client" ? "Join Session" : "Start Session";
    rows.push(row("Meeting Link", el("a", { href: s.meeting_link, target: "_blank", rel: "noopener noreferrer", class: "join" }, label)));
  }
  if (s.reschedule) {
    const mine = s.reschedule.proposed_by === role;
    extra.push(el("p", { class: "info" }, mine
      ? `🔁 You proposed moving this to ${when(s.reschedule.starts_at)}; waiting for an answer.`
      : `🔁 New time proposed: ${when(s.reschedule.starts_at)}.`));
  }
  if (s.decline_reason) rows.push(row("Reason", `“${s.decline_reason}”`));
  if (s.status === "cancelled") {
    const by = s.cancelled_by === role ? "you" : s.cancelled_by === "system" ? (s.cancel_reason ? "Kikao" : "Kikao (deadline passed)") : `the ${s.cancelled_by}`;
    rows.push(row("Cancelled by", by));
    if (s.cancel_reason) rows.push(row("Reason", `“${s.cancel_reason}”`));
    if (s.refund_due) extra.push(el("p", { class: "warning" }, "💸 A refund is due for this booking."));
  }

  const buttons = s.actions
    .filter((a) => a !== "submit_payment")
    .map((a) => {
      const label = a === "cancel" && s.status === "pending_approval" && role === "client" ? "Cancel Request" : ACTION_LABELS[a];
      return el("button", { type: "button", class: `action action-${a}`, "data-action": a, "data-id": s.id, disabled: busy }, label);
    });
  if (role === "client" && s.status === "declined") {
    buttons.push(el("button", { type: "button", class: "action", "data-book-again": s.psychologist.id }, "Book Another Time"));
  }
  if (["confirmed", "in_progress"].includes(s.status)) {
    buttons.push(el("button", { type: "button", class: "action secondary", "data-ics": s.id }, "📅 Add to calendar"));
  }
  buttons.push(el("button", { type: "button", class: "action secondary", "data-details": s.id }, "View Details"));
  const form = s.actions.includes("submit_payment") ? paymentForm(s, busy, draft) : null;
  // the session under way, or one that may be started now: the one to look at
  const current = s.status === "in_progress" || s.actions.includes("start");

  return el("article", { class: `card status-${s.status}${busy ? " busy" : ""}${current ? " current" : ""}`, "data-id": s.id, "data-session-id": s.id, "aria-busy": String(busy), tabIndex: -1 },
    el("h3", {}, TITLES[role][s.status], s.action_required ? el("span", { class: "pill" }, "Action required") : null),
    el("dl", {}, ...rows),
    ...extra,
    form,
    buttons.length ? el("div", { class: "actions" }, ...buttons) : null);
}

const MARK = { matches: "✓", differs: "⚠", unchecked: "–" };

/** The server's comparison of a payment with its booking, point by point. */
function checksList(checks) {
  return el("div", { class: `checks${checks.all_match ? " all-match" : ""}` },
    el("p", { class: checks.all_match ? "ok" : "checks-summary" }, checks.all_match ? `✓ ${checks.summary}` : checks.summary),
    el("ul", {}, ...checks.items.map((c) => el("li", { class: `check-${c.outcome}`, "data-check": c.about },
      `${MARK[c.outcome] ?? ""} ${c.text}${c.at ? ` (${when(c.at)})` : ""}`))));
}

const PAID_HOW = { send_money: "sent to", pay_bill: "paid by pay bill to", buy_goods: "paid to the till", pochi: "sent to the Pochi la Biashara of" };

/** What the server read from a pasted SMS (`parse-mpesa`), or why it is not a payment. */
export function previewNodes(preview) {
  if (!preview) return [];
  if (!preview.ok) return [el("p", { class: "warning" }, `⚠ ${preview.message}`)];
  const r = preview.data;
  const to = [r.recipient_name, r.recipient_phone].filter(Boolean).join(" ");
  return [
    el("p", { class: "read" }, "Read: ", el("strong", {}, kes(r.amount_kes)), ` ${PAID_HOW[r.kind] ?? "to"} ${to}`.trimEnd(),
      r.sent_at ? ` on ${when(r.sent_at)}` : "", " · code ", el("code", {}, r.transaction_code)),
    r.checks ? checksList(r.checks) : null,
  ].filter(Boolean);
}

function paymentForm(s, busy, draft = {}) {
  const id = `pay-${s.id}`;
  return el("form", { class: "pay-form", "data-pay": s.id },
    el("p", { class: "hint" }, "After paying, enter the M-Pesa transaction code or paste the whole confirmation SMS."),
    el("label", { htmlFor: `${id}-code` }, "M-Pesa transaction code"),
    el("input", { id: `${id}-code`, name: "transaction_code", maxLength: 10, autocomplete: "off", placeholder: "QK71ABC123", disabled: busy, value: draft.transaction_code ?? "" }),
    el("label", { htmlFor: `${id}-sms` }, "…or paste the M-Pesa SMS"),
    el("textarea", { id: `${id}-sms`, name: "mpesa_message", rows: 3, maxLength: 2000, disabled: busy, value: draft.mpesa_message ?? "" }),
    el("div", { id: `${id}-preview`, class: "sms-preview", "aria-live": "polite" }, ...previewNodes(draft.preview)),
    el("label", { htmlFor: `${id}-file` }, "Screenshot (optional, image up to 5 MB)"),
    el("input", { id: `${id}-file`, name: "proof", type: "file", accept: "image/jpeg,image/png,image/webp,image/heic", disabled: busy }),
    el("button", { type: "submit", class: "primary", disabled: busy }, "Submit Payment Proof"));
}
