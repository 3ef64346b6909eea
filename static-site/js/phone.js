// Confirming a phone number. Kikao sends SMS only to a number its owner has confirmed by
// entering a code sent to it (the server's `phone_verified`); `phoneState()` says where the
// profile's number stands and `confirmPhone()` is the confirmation in one dialog. The code comes
// from the identity provider: the dev server's `/dev/phone/...` locally (the SMS shows in its
// notification log), Cognito's attribute verification in AWS. Either way the new token vouches
// for the number, and the server marks the profile's number confirmed when it reads it.

import { claims, remember, refresh } from "./auth.js";
import { IdentityError, cognitoCall, cognitoMode, devPost } from "./identity.js";
import { el } from "./cards.js";
import { localPhone } from "./format.js";

/** Fired on `document` once the profile's number is confirmed. */
export const PHONE_CONFIRMED = "kikao:phone-confirmed";

/** What the profile panel says of the saved number, from `GET /api/me`. */
export function phoneState(me) {
  if (!me.phone) return { text: "No phone number yet: add one to get SMS about your sessions.", confirm: false };
  if (me.phone_verified) return { text: `Confirmed: SMS go to ${localPhone(me.phone)}.`, confirm: false };
  return {
    text: `Not confirmed: Kikao sends no SMS to ${localPhone(me.phone)} until you enter the code we text to it. Email still comes.`,
    confirm: true,
  };
}

// --- the dev server: /dev/phone/code and /dev/phone/verify ------------------------------------

const dev = {
  async send(phone) {
    await devPost("/dev/phone/code", { phone });
  },
  async verify(code) {
    const { token: tok, user } = await devPost("/dev/phone/verify", { code });
    remember(tok, user);
  },
};

// --- Cognito's attribute verification, with the access token ----------------------------------

const COGNITO_SAYS = {
  CodeMismatchException: "That is not the code we sent; check the latest SMS from Kikao and type its 6 digits.",
  ExpiredCodeException: "That code can no longer be used; ask for a new one.",
  InvalidParameterException: "Type the 6 digits from the SMS.",
  CodeDeliveryFailureException: "The SMS could not be delivered to that number; check it and try again.",
  AliasExistsException: "That number belongs to another Kikao account.",
};
const call = (target, body) => cognitoCall(target, body, { says: COGNITO_SAYS, what: "confirm your phone" });

const cognito = {
  async send(phone) {
    // the number Cognito holds gets a fresh code; another one is set first, which texts it
    if (claims().phone_number !== phone) {
      const r = await call("UpdateUserAttributes", { UserAttributes: [{ Name: "phone_number", Value: phone }] });
      if (r.CodeDeliveryDetailsList?.some((d) => d.AttributeName === "phone_number")) return;
    }
    await call("GetUserAttributeVerificationCode", { AttributeName: "phone_number" });
  },
  async verify(code) {
    await call("VerifyUserAttribute", { AttributeName: "phone_number", Code: code });
    // the ID token the API reads vouches for the number only once it is a new one
    if (!await refresh()) {
      throw new IdentityError("Your number is confirmed, but Kikao could not renew your sign-in; sign out and sign in again.");
    }
  },
};

// --- the dialog ------------------------------------------------------------------------------

let dialog = null;

function build() {
  const d = el("dialog", { id: "phone-dialog", class: "mfa-dialog" },
    el("h2", { id: "phone-title" }, "Confirm your phone"),
    el("p", { id: "phone-why" }, "Kikao texts you about your sessions only at a number you have confirmed, so nobody else gets them."),
    el("form", { id: "phone-form", class: "mfa-form", noValidate: true },
      el("label", { htmlFor: "phone-code" }, "The 6-digit code in the SMS"),
      el("input", { id: "phone-code", name: "code", inputMode: "numeric", autocomplete: "one-time-code", maxLength: 7, required: true, class: "code-input" }),
      el("p", { id: "phone-error", class: "error-text", role: "alert" }),
      el("div", { class: "row" },
        el("button", { type: "button", "data-close": "1" }, "Not now"),
        el("button", { type: "button", id: "phone-resend" }, "Send a new code"),
        el("button", { type: "submit", class: "primary", id: "phone-submit" }, "Confirm"))),
    el("p", { id: "phone-status", class: "mfa-status", role: "status" }),
    el("div", { id: "phone-finished", class: "row", hidden: true },
      el("button", { type: "button", class: "primary", "data-close": "1" }, "Done")));
  d.setAttribute("aria-labelledby", "phone-title");
  d.setAttribute("aria-describedby", "phone-why");
  d.addEventListener("click", (ev) => {
    if (ev.target.closest("[data-close]")) d.close();
  });
  document.body.append(d);
  return d;
}

let running = null;

/**
 * Texts a code to `phone` (E.164, the profile's saved number) and asks for it. Resolves, once
 * the dialog closes, to true when the number was confirmed (the new token is stored by then).
 */
export function confirmPhone(phone) {
  if (running) return running;
  dialog ??= build();
  const d = dialog;
  const $ = (id) => document.getElementById(id);
  const form = $("phone-form");
  const input = $("phone-code");
  const status = $("phone-status");
  const error = $("phone-error");
  let done = false;

  form.hidden = false;
  $("phone-finished").hidden = true;
  input.value = "";
  error.textContent = "";
  const enable = (on) => { for (const c of form.elements) if (!c.dataset.close) c.disabled = !on; };

  running = (async () => {
    const backend = await cognitoMode() ? cognito : dev;
    const send = async () => {
      enable(false);
      error.textContent = "";
      status.textContent = `Sending a code to ${localPhone(phone)}…`;
      try {
        await backend.send(phone);
        status.textContent = `We sent a code by SMS to ${localPhone(phone)}.`;
        enable(true);
        input.focus();
      } catch (e) {
        status.textContent = "";
        error.textContent = e instanceof IdentityError ? e.message : `Could not send a code: ${e.message}`;
        $("phone-resend").disabled = false;
      }
    };
    const onSubmit = async (ev) => {
      ev.preventDefault();
      const code = input.value.replace(/\s+/g, "");
      if (!/^\d{6}$/.test(code)) {
        error.textContent = "Type the 6 digits from the SMS.";
        input.focus();
        return;
      }
      error.textContent = "";
      status.textContent = "Checking the code…";
      enable(false);
      try {
        await backend.verify(code);
        done = true;
        form.hidden = true;
        $("phone-finished").hidden = false;
        status.textContent = `Confirmed: SMS go to ${localPhone(phone)}.`;
        d.querySelector("#phone-finished button").focus();
        document.dispatchEvent(new Event(PHONE_CONFIRMED));
      } catch (e) {
        status.textContent = "";
        error.textContent = e instanceof IdentityError ? e.message : `Could not check the code: ${e.message}`;
        enable(true);
        input.select();
        input.focus();
      }
    };
    const onResend = () => send();
    form.addEventListener("submit", onSubmit);
    $("phone-resend").addEventListener("click", onResend);
    const finished = new Promise((resolve) => d.addEventListener("close", resolve, { once: true }));
    d.showModal();
    await send();
    await finished;
    form.removeEventListener("submit", onSubmit);
    $("phone-resend").removeEventListener("click", onResend);
    running = null;
    return done;
  })();
  return running;
}
