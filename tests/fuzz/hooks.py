"""Schemathesis hooks for fuzzing Kikao's dev server (loaded through SCHEMATHESIS_HOOKS).

Random ids and times almost never name a bookable psychologist and a free slot on the
15-minute grid, so nearly every generated booking would stop at a 422 and the rest of the
lifecycle would go untested. Half of the positive (schema-valid) cases for `POST /api/sessions` are
therefore pointed at a real psychologist, session type and grid time (read from the server
at start); the other half stay exactly as schemathesis made them.
"""

import datetime
import hashlib
import json
import os
import urllib.request

import schemathesis

API = os.environ["KIKAO_API"]
TOKEN = os.environ["KIKAO_TOKEN"]


def _bookable():
    req = urllib.request.Request(
        API + "/api/psychologists", headers={"Authorization": "Bearer " + TOKEN}
    )
    with urllib.request.urlopen(req, timeout=10) as res:
        directory = json.load(res)
    return [
        (p["id"], t["id"])
        for p in directory["psychologists"]
        for t in p["session_types"]
    ]


BOOKABLE = _bookable()
TODAY = datetime.datetime.now(datetime.timezone.utc).replace(
    hour=6, minute=0, second=0, microsecond=0
)


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
    psychologist, session_type = BOOKABLE[h % len(BOOKABLE)]
    # a day from 2 to 170 days ahead, between 09:00 and 17:00 Nairobi time, on the grid
    starts = TODAY + datetime.timedelta(days=2 + h % 169, minutes=15 * (h % 32))
    case.body = {
        **case.body,
        "psychologist_id": psychologist,
        "session_type_id": session_type,
        "starts_at": starts.isoformat(),
    }
    return case
