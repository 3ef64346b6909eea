/** M-Pesa payments into the psychologist's Till or Paybill that confirmed no booking, each with
 * the server's reason, and a way to take one as a booking's: the bookings offered are the ones
 * the page holds that wait for payment, and the server decides whether it may be attached. */
import { api } from "./api.js";
import { el } from "./cards.js";
import { when, kes } from "./format.js";

const $ = (id) => document.getElementById(id);

/** The panel, shown when the profile has a Till or Paybill. `waiting()` gives the bookings the
 * page holds that wait for payment; `onAttached` runs after one was confirmed from here. */
export function unmatchedPanel({ waiting, onAttached, say, toast }) {
  const panel = $("unmatched");
  const list = $("unmatched-list");
  panel.hidden = false;

  function item(p) {
    const options = waiting().map((s) => el("option", { value: s.id },
      `${s.client.name} · ${when(s.starts_at)} · ${kes(s.price_kes)}`));
    const choose = el("select", { name: "session_id" },
      el("option", { value: "" }, "Choose the booking it paid for"), ...options);
    if (p.session_id && options.some((o) => o.value === p.session_id)) choose.value = p.session_id;
    const attach = el("button", { type: "button", class: "primary", "data-attach": p.receipt }, "Attach");
    attach.addEventListener("click", async () => {
      if (!choose.value) {
        toast("Choose the booking this payment was for.", "error");
        choose.focus();
        return;
      }
      attach.disabled = true;
      try {
        await api.post(`/api/payments/unmatched/${encodeURIComponent(p.receipt)}/attach`, { session_id: choose.value });
        toast(`Payment ${p.receipt} attached; the session is confirmed and the client has the meeting link.`, "notice");
        await load();
        onAttached();
      } catch (e) {
        toast(say(e), "error");
        attach.disabled = false;
      }
    });
    const who = [p.payer, p.account ? `account ${p.account}` : null].filter(Boolean).join(" · ");
    return el("li", { "data-unmatched": p.receipt, "data-why": p.why },
      el("strong", {}, kes(p.amount_kes)), ` · ${when(p.paid_at)} · code `, el("code", {}, p.receipt), who ? ` · ${who}` : "",
      el("p", { class: "hint" }, p.explanation),
      el("div", { class: "attach" }, el("label", {}, "The booking it paid for ", choose), attach));
  }

  async function load() {
    try {
      const { data } = await api.get("/api/payments/unmatched");
      list.replaceChildren(data.length
        ? el("ul", { class: "statement-list" }, ...data.map(item))
        : el("p", { class: "hint" }, "Every M-Pesa payment into your account matched a booking."));
    } catch (e) {
      list.replaceChildren(el("p", { class: "error-text", role: "alert" }, say(e)));
    }
  }
  $("unmatched-refresh").addEventListener("click", load);
  return { load };
}
