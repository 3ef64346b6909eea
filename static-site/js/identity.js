// The identity provider's own API, for what a person changes about their sign-in: their second
// factor and their phone number. Locally that is the dev server's `/dev/...` calls with the dev
// token; in AWS it is Cognito's JSON API, called from the page with the access token (scope
// `aws.cognito.signin.user.admin`), so the API itself needs no Cognito permission for it.

import { config } from "./config.js";
import { token, accessToken, refresh } from "./auth.js";

/** A refusal worded for the person: the page shows `message` as it is. */
export class IdentityError extends Error {}

/** Whether the page signs in with Cognito (else the dev sign-in). */
export async function cognitoMode() {
  return (await config()).auth === "cognito";
}

/** POST to the dev server's sign-in API as the signed-in person. */
export async function devPost(path, body) {
  const res = await fetch(path, {
    method: "POST",
    headers: { authorization: `Bearer ${token()}`, "content-type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new IdentityError(data?.error?.message ?? `The server answered ${res.status}.`);
  return data;
}

/**
 * One call of Cognito's user-pool API as the signed-in person. `says` words Cognito's error
 * types for what is being done; `what` ends "Kikao could not … with this sign-in".
 */
export async function cognitoCall(target, body, { says = {}, what = "do that" } = {}, retried = false) {
  const { cognito } = await config();
  const region = cognito.region ?? cognito.domain.match(/\.auth\.([a-z0-9-]+)\.amazoncognito\.com$/)?.[1];
  const res = await fetch(`https://cognito-idp.${region}.amazonaws.com/`, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": `AWSCognitoIdentityProviderService.${target}`,
    },
    body: JSON.stringify({ ...body, AccessToken: accessToken() }),
  });
  const data = await res.json().catch(() => ({}));
  if (res.ok) return data;
  const type = String(data.__type ?? "").split("#").pop();
  // an access token an hour old: one new one, one more try
  if (type === "NotAuthorizedException" && !retried && await refresh()) return cognitoCall(target, body, { says, what }, true);
  if (type === "NotAuthorizedException") {
    throw new IdentityError(`Kikao could not ${what} with this sign-in; sign out, sign in again and retry.`);
  }
  const limited = "Too many tries; wait a few minutes and try again.";
  const fallback = { LimitExceededException: limited, TooManyRequestsException: limited };
  throw new IdentityError(says[type] ?? fallback[type] ?? data.message ?? `Cognito answered ${res.status}.`);
}
