// Two-step sign-in (TOTP). Psychologists and practice admins must have it before the server
// lets them change anything (`403 mfa_required`). `openMfaSetup()` is the whole setup in one
// dialog: a new key from the identity provider (the dev server locally, Cognito's own API in
// AWS), shown as a QR code for the authenticator app and as text, the first code checked, and a
// new token that says two-step sign-in is on. `mfaBanner()` is the notice every page shows
// until then.

import qrcode from "../vendor/qrcode-generator.js";
import { claims, signedInUser, remember, refresh } from "./auth.js";
import { IdentityError as SetupError, cognitoCall as identityCall, cognitoMode, devPost } from "./identity.js";
import { onMfaRequired } from "./api.js";
import { el } from "./cards.js";

export const MFA_WHY = "Your account guards your clients' bookings and the M-Pesa number they pay to. Two-step sign-in stops someone who learns your password.";
export const MFA_DONE = "Two-step sign-in is on.";
/** What a psychologist is told until it is on. */
export const MFA_NEEDED = "Set up two-step sign-in to approve bookings, verify payments or change your profile.";
/** Fired on `document` once a new token says two-step sign-in is on. */
export const MFA_ON = "kikao:mfa-on";

// --- the dev server: /dev/mfa/associate and /dev/mfa/verify -------------------------------

const dev = {
  async associate() {
    return (await devPost("/dev/mfa/associate")).secret_code;
  },
  async verify(code) {
    const { token: tok, user } = await devPost("/dev/mfa/verify", { code });
    remember(tok, user);
  },
};

// --- Cognito's software-token calls, with the access token -----------------------------------

const WRONG_CODE = "That code does not match. Check that your phone's clock is set automatically, then type the newest code the app shows.";
const COGNITO_SAYS = {
  CodeMismatchException: WRONG_CODE,
  EnableSoftwareTokenMFAException: WRONG_CODE,
  InvalidParameterException: "Type the 6 digits the app shows.",
};
const cognitoCall = (target, body) => identityCall(target, body, { says: COGNITO_SAYS, what: "set up two-step sign-in" });

const cognito = {
  async associate() {
    return (await cognitoCall("AssociateSoftwareToken", {})).SecretCode;
  },
  async verify(code) {
    const r = await cognitoCall("VerifySoftwareToken", { UserCode: code, FriendlyDeviceName: "Kikao" });
    if (r.Status !== "SUCCESS") throw new SetupError(WRONG_CODE);
    await cognitoCall("SetUserMFAPreference", { SoftwareTokenMfaSettings: { Enabled: true, PreferredMfa: true } });
    // the ID token the API reads says so only once it is a new one
    if (!await refresh()) {
      throw new SetupError("Two-step sign-in is on, but Kikao could not renew your sign-in; sign out and sign in again.");
    }
  },
};

// --- the dialog ------------------------------------------------------------------------------

/** The secret as people copy it: groups of four. */
const grouped = (secret) => secret.match(/.{1,4}/g)?.join(" ") ?? "";

function otpauth(secret) {
  const c = claims();
  const account = c.email ?? signedInUser()?.name ?? c.name ?? "Kikao user";
  return `otpauth://totp/Kikao:${encodeURIComponent(account)}?secret=${encodeURIComponent(secret)}&issuer=Kikao`;
}

/** Draws `text` as a QR code into `canvas`, with the quiet zone the standard asks for. */
function drawQr(canvas, text) {
  const qr = qrcode(0, "M");
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  const quiet = 4;
  const scale = Math.max(4, Math.floor(232 / (n + 2 * quiet)));
  const size = (n + 2 * quiet) * scale;
  canvas.width = size;
  canvas.height = size;
  const g = canvas.getContext("2d");
  g.fillStyle = "#ffffff";
  g.fillRect(0, 0, size, size);
  g.fillStyle = "#000000";
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (qr.isDark(r, c)) g.fillRect((c + quiet) * scale, (r + quiet) * scale, scale, scale);
    }
  }
}

let dialog = null;

function build() {
  const canvas = el("canvas", { id: "mfa-qr", class: "mfa-qr", role: "img", width: 232, height: 232 });
  canvas.setAttribute("aria-label", "QR code of your two-step sign-in key, for your authenticator app to scan");
  const d = el("dialog", { id: "mfa-dialog", class: "mfa-dialog" },
    el("h2", { id: "mfa-title" }, "Set up two-step sign-in"),
    el("p", { id: "mfa-why" }, MFA_WHY),
    el("div", { id: "mfa-setup", class: "mfa-setup" },
      el("p", {}, "1. Open an authenticator app on your phone (Google Authenticator, Microsoft Authenticator, Authy or another) and add an account by scanning this code:"),
      canvas,
      el("p", { class: "hint" }, "Cannot scan it? Add the account by typing this key instead:"),
      el("p", {}, el("code", { id: "mfa-secret", class: "mfa-secret", "data-secret": "" })),
      el("form", { id: "mfa-form", class: "mfa-form", noValidate: true },
        el("label", { htmlFor: "mfa-code" }, "2. Type the 6-digit code the app now shows for Kikao"),
        el("input", { id: "mfa-code", name: "code", inputMode: "numeric", autocomplete: "one-time-code", maxLength: 7, required: true, class: "code-input" }),
        el("p", { id: "mfa-error", class: "error-text", role: "alert" }),
        el("div", { class: "row" },
          el("button", { type: "button", "data-close": "1" }, "Not now"),
          el("button", { type: "submit", class: "primary", id: "mfa-submit" }, "Turn on two-step sign-in")))),
    el("p", { id: "mfa-status", class: "mfa-status", role: "status" }),
    el("div", { id: "mfa-finished", class: "row", hidden: true },
      el("button", { type: "button", class: "primary", "data-close": "1" }, "Done")));
  d.setAttribute("aria-labelledby", "mfa-title");
  d.setAttribute("aria-describedby", "mfa-why");
  d.addEventListener("click", (ev) => {
    if (ev.target.closest("[data-close]")) d.close();
  });
  document.body.append(d);
  return d;
}

let running = null;

/**
 * Opens the setup. Resolves, once the dialog closes, to true when two-step sign-in was turned
 * on (the new token is stored by then, so the caller may retry what was refused), or false
 * when the person left it for later.
 */
export function openMfaSetup() {
  if (running) return running;
  dialog ??= build();
  const d = dialog;
  const $ = (id) => document.getElementById(id);
  const form = $("mfa-form");
  const input = $("mfa-code");
  const secretEl = $("mfa-secret");
  const status = $("mfa-status");
  const error = $("mfa-error");
  let done = false;
  let closed = false;

  $("mfa-setup").hidden = false;
  $("mfa-finished").hidden = true;
  secretEl.textContent = "";
  secretEl.dataset.secret = "";
  input.value = "";
  error.textContent = "";
  status.textContent = "Getting your key…";
  for (const c of form.elements) c.disabled = true;
  form.querySelector("[data-close]").disabled = false;
  const canvas = $("mfa-qr");
  canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);

  running = (async () => {
    const backend = await cognitoMode() ? cognito : dev;
    const onSubmit = async (ev) => {
      ev.preventDefault();
      const code = input.value.replace(/\s+/g, "");
      if (!/^\d{6}$/.test(code)) {
        error.textContent = "Type the 6 digits the app shows.";
        input.focus();
        return;
      }
      error.textContent = "";
      status.textContent = "Checking the code…";
      for (const c of form.elements) c.disabled = true;
      try {
        await backend.verify(code);
        done = true;
        $("mfa-setup").hidden = true;
        $("mfa-finished").hidden = false;
        status.textContent = `${MFA_DONE} From now on, signing in asks for a code from the app.`;
        d.querySelector("#mfa-finished button").focus();
        document.dispatchEvent(new Event(MFA_ON));
      } catch (e) {
        status.textContent = "";
        error.textContent = e instanceof SetupError ? e.message : `Could not check the code: ${e.message}`;
        for (const c of form.elements) c.disabled = false;
        input.select();
        input.focus();
      }
    };
    form.addEventListener("submit", onSubmit);
    const finished = new Promise((resolve) => d.addEventListener("close", () => { closed = true; resolve(); }, { once: true }));
    d.showModal();
    try {
      const secret = await backend.associate();
      if (!closed) {
        drawQr(canvas, otpauth(secret));
        secretEl.dataset.secret = secret;
        secretEl.textContent = grouped(secret);
        status.textContent = "";
        for (const c of form.elements) c.disabled = false;
        input.focus();
      }
    } catch (e) {
      status.textContent = "";
      error.textContent = e instanceof SetupError ? e.message : `Could not get a key: ${e.message}`;
    }
    await finished;
    form.removeEventListener("submit", onSubmit);
    running = null;
    return done;
  })();
  return running;
}

/**
 * The page's notice (`#mfa-banner`, holding `#mfa-text` and a button) that two-step sign-in is
 * needed, saying `sentence`. Shown by `show()` (after GET /api/me) and by any write the server
 * refuses with `mfa_required`; hidden once it is on.
 */
export function mfaBanner(sentence, onEnabled = () => {}) {
  const banner = document.getElementById("mfa-banner");
  const text = document.getElementById("mfa-text");
  const show = () => {
    if (!banner.hidden) return;
    banner.hidden = false;
    // written once the region is shown, so screen readers announce it
    setTimeout(() => { if (!banner.hidden) text.textContent = sentence; }, 50);
  };
  const hide = () => {
    banner.hidden = true;
    text.textContent = "";
  };
  document.addEventListener("click", (ev) => {
    if (ev.target.closest("[data-mfa-setup]")) openMfaSetup();
  });
  document.addEventListener(MFA_ON, () => {
    hide();
    onEnabled();
  });
  onMfaRequired(show);
  return { show, hide, sentence };
}
