// The privacy notice and the person's consent to it. Seeing a therapist is health information
// under Kenya's Data Protection Act 2019, so Kikao asks before anyone books: at the first
// sign-in, again when the notice's version changes, and whenever a booking comes back
// `consent_required`. The notice's words and version come from the server
// (`GET /api/privacy-notice`); the page only shows them and sends back the version read.

import { api, ApiError } from "./api.js";
import { el } from "./cards.js";
import { dialogValue } from "./dialog.js";

const $ = (id) => document.getElementById(id);

function fill(notice) {
  $("consent-title").textContent = notice.title;
  $("consent-summary").textContent = notice.summary;
  $("consent-sections").replaceChildren(...notice.sections.flatMap((s) => [
    el("h3", {}, s.heading),
    el("p", {}, s.body),
  ]));
  $("consent-contact").replaceChildren(
    "Write about your information to ",
    el("a", { href: `mailto:${notice.contact}` }, notice.contact),
    `. Version of ${notice.version}.`,
  );
}

/** Shows the notice; resolves to the profile after the person accepts it, or null for "Not now".
 * `why` says, above the notice, why it is shown (empty at sign-in). */
export async function askConsent(why = "") {
  const d = $("consent-dialog");
  const error = $("consent-error");
  for (;;) {
    const { data: notice } = await api.get("/api/privacy-notice");
    fill(notice);
    $("consent-why").textContent = why;
    $("consent-why").hidden = !why;
    error.textContent = "";
    if (await dialogValue(d) !== "ok") return null;
    try {
      const { data: me } = await api.put("/api/me/consent", { version: notice.version });
      return me;
    } catch (e) {
      // a new version was published while the person read: show them that one
      if (e instanceof ApiError && e.code === "notice_changed") {
        why = e.message;
        continue;
      }
      throw e;
    }
  }
}

/** What the profile says of the person's consent, from `GET /api/me`. */
export function consentState(me) {
  if (me.consent_current) return `You accepted the privacy notice on ${new Date(me.consent.at).toLocaleDateString("en-KE", { day: "numeric", month: "long", year: "numeric" })}.`;
  if (me.consent) return "The privacy notice has changed since you accepted it: read it again to keep booking.";
  return "You have not accepted the privacy notice yet; booking needs it.";
}

/** Saves everything Kikao holds about the person (`GET /api/me/export`) as a JSON file. */
export async function downloadMyData() {
  const { data, res } = await api.get("/api/me/export");
  const named = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "");
  const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
  const a = el("a", { href: url, download: named ? named[1] : "kikao-my-data.json", hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return data;
}

/** Asks a client to confirm erasing their account, and erases it (`DELETE /api/me`). Resolves
 * to the server's answer once erased, or null when they keep the account. */
export async function askErasure() {
  const d = $("erase-dialog");
  const form = $("erase-form");
  const error = $("erase-error");
  form.confirm.value = "";
  error.textContent = "";
  for (;;) {
    if (await dialogValue(d) !== "ok") return null;
    try {
      const { data } = await api.del("/api/me", { confirm: form.confirm.value.trim() });
      return data;
    } catch (e) {
      // the words mistyped, or a failure part-way (running it again finishes it): say so, ask again
      error.textContent = e.message;
    }
  }
}
