"""Schemathesis hooks for fuzzing Kikao's dev server (loaded through SCHEMATHESIS_HOOKS).

Random ids and times almost never name a bookable psychologist and a free slot on the
15-minute grid, so nearly every generated booking would stop at a 422 and the rest of the
lifecycle would go untested. Half of the positive (schema-valid) cases for `POST /api/sessions` are
therefore pointed at a real psychologist, session type and one of their free times (read from
the server's availability endpoint at start); the other half stay exactly as schemathesis made
them.
"""

import datetime
import hashlib
import json
import os
import urllib.parse
import urllib.request

import schemathesis

API = os.environ["KIKAO_API"]
TOKEN = os.environ["KIKAO_TOKEN"]


def _get(path):
    req = urllib.request.Request(API + path, headers={"Authorization": "Bearer " + TOKEN})
    with urllib.request.urlopen(req, timeout=10) as res:
        return json.load(res)


def _bookable():
    """(psychologist, session type, start) for every free start of the next 31 days."""
    directory = _get("/api/psychologists")
    return [
        (p["id"], t["id"], slot["starts_at"])
        for p in directory["psychologists"]
        for t in p["session_types"]
        for slot in _get(
            f"/api/psychologists/{p['id']}/availability?"
            + urllib.parse.urlencode({"session_type_id": t["id"], "to": _in_days(31)})
        )["slots"]
    ]


def _in_days(n):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=n)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


BOOKABLE = _bookable()


def _digest(value):
    text = json.dumps(value, sort_keys=True, default=str)
    return int(hashlib.sha256(text.encode()).hexdigest(), 16)


@schemathesis.hook
def map_case(context, case):
    op = context.operation
    if op is None or (op.method.upper(), op.path) != ("POST", "/api/sessions"):
        return case
    meta = case.meta
    # negative cases are meant to be wrong: leave them for the API to refuse
    if meta is None or meta.generation.mode.is_negative or not isinstance(case.body, dict):
        return case
    if not BOOKABLE:
        return case
    h = _digest(case.body)
    if h % 2:
        return case
    psychologist, session_type, starts = BOOKABLE[(h // 2) % len(BOOKABLE)]
    case.body = {
        **case.body,
        "psychologist_id": psychologist,
        "session_type_id": session_type,
        "starts_at": starts,
    }
    return case
