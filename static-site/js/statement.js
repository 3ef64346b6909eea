/** The psychologist's M-Pesa statement against the payments waiting for them: the file goes to
 * the server (read there and dropped), and the answer says which payments it proves and why the
 * others are not proved. "Verify N matching payments" verifies each on the version shown, like
 * the card's own button; what matches is the server's word, never worked out here. */
import { api, ApiError } from "./api.js";
import { token } from "./auth.js";
import { el } from "./cards.js";
import { when, kes } from "./format.js";

const $ = (id) => document.getElementById(id);

/** The file as base64, without the data-URL prefix. */
function base64(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).replace(/^data:[^,]*,/, ""));
    r.onerror = () => reject(new Error("The file could not be read from your device; choose it again."));
    r.readAsDataURL(file);
  });
}

function day(iso) {
  return new Intl.DateTimeFormat("en-KE", { day: "numeric", month: "short", year: "numeric" }).format(new Date(iso));
}

/** One payment as the statement sees it: for one that does not match, why; and who the
 * statement says paid, where it shows someone. */
function line(m) {
  const s = m.session;
  const payer = m.payer_name
    ? `Paid by ${m.payer_name}${m.payer_phone ? ` (${m.payer_phone})` : ""}${m.received_at ? ` on ${when(m.received_at)}` : ""}.`
    : null;
  const note = m.name_agrees === false ? " Not the client's name: a relative or friend may have paid." : "";
  return el("li", { "data-statement-session": s.id, "data-verdict": m.verdict },
    el("strong", {}, s.client.name), ` · ${when(s.starts_at)} · ${kes(s.price_kes)} · code ${s.payment?.transaction_code ?? ""}`,
    m.verdict === "paid" ? null : el("p", { class: "hint" }, m.explanation),
    payer ? el("p", { class: "hint" }, payer + note) : null);
}

/** The dev server's made-up statement of the payments waiting, downloaded as a file. */
async function downloadSample() {
  const res = await fetch("/dev/statement", { headers: { authorization: `Bearer ${token()}` } });
  if (!res.ok) throw new Error("The dev server did not make a sample statement.");
  const a = el("a", { href: URL.createObjectURL(await res.blob()), download: "sample-mpesa-statement.csv" });
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 60000);
}

/** Wires the panel; `onVerified` runs after payments were verified from it; `dev` offers the dev
 * server's sample statement. */
export function statementPanel({ onVerified, say, toast, dev = false }) {
  const panel = $("statement");
  const form = $("statement-form");
  const out = $("statement-result");
  panel.hidden = false;
  $("statement-link").hidden = false;
  if (dev) {
    const sample = $("statement-sample");
    sample.hidden = false;
    sample.querySelector("button").addEventListener("click", () => downloadSample().catch((e) => toast(e.message, "error")));
  }

  async function verifyAll(matching, button) {
    button.disabled = true;
    let done = 0;
    const failed = [];
    for (const m of matching) {
      try {
        await api.put(`/api/sessions/${m.session.id}/verify-payment`, undefined, { "if-match": `"${m.session.version}"` });
        done += 1;
      } catch (e) {
        failed.push(`${m.session.client.name}: ${say(e)}`);
      }
    }
    const said = done === 1 ? "Verified 1 payment; the client has the meeting link." : `Verified ${done} payments; the clients have their meeting links.`;
    out.replaceChildren(el("p", { role: "status", class: "statement-done" }, done ? said : "No payment was verified."),
      ...failed.map((f) => el("p", { class: "hint" }, f)));
    if (done) toast(said, "notice");
    onVerified();
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = form.file.files[0];
    if (!file) return;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    out.replaceChildren(el("p", { class: "hint", "aria-busy": "true" }, "Reading the statement…"));
    try {
      const body = { file_base64: await base64(file) };
      if (form.password.value) body.password = form.password.value;
      const { data } = await api.post("/api/payments/statement", body);
      form.password.value = "";
      const span = data.first && data.last ? ` from ${day(data.first)} to ${day(data.last)}` : "";
      const parts = [el("p", {}, `Read ${data.rows} ${data.rows === 1 ? "transaction" : "transactions"}${span}.`)];
      if (data.warning) parts.push(el("p", { class: "warning", role: "alert" }, `⚠ ${data.warning}`));
      if (data.unreadable_rows) {
        const lines = data.unreadable_rows === 1 ? "1 line of the statement" : `${data.unreadable_rows} lines of the statement`;
        parts.push(el("p", { class: "hint" }, `${lines} could not be read; check any payment not listed below by hand.`));
      }
      if (!data.matching.length && !data.not_matching.length) {
        parts.push(el("p", {}, "No payment is waiting for you to verify."));
      }
      if (data.matching.length) {
        const n = data.matching.length;
        const verify = el("button", { type: "button", class: "primary", "data-verify-matching": String(n) },
          n === 1 ? "Verify 1 matching payment" : `Verify ${n} matching payments`);
        verify.addEventListener("click", () => verifyAll(data.matching, verify));
        parts.push(el("h3", {}, n === 1 ? "1 payment is on the statement" : `${n} payments are on the statement`),
          el("ul", { class: "statement-list" }, ...data.matching.map(line)), verify);
      }
      if (data.not_matching.length) {
        parts.push(el("h3", {}, "Not proved by this statement"),
          el("ul", { class: "statement-list" }, ...data.not_matching.map(line)));
      }
      out.replaceChildren(...parts);
    } catch (e) {
      out.replaceChildren(el("p", { class: "error-text", role: "alert" }, e instanceof ApiError || e instanceof Error ? say(e) : String(e)));
      if (e instanceof ApiError && e.code === "statement_locked") form.password.focus();
    } finally {
      button.disabled = false;
    }
  });
}
