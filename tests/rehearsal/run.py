"""Lambda rehearsal: the real deployable function binaries, run as Lambda runs them, against moto.

The unit and integration tests call the handlers as library functions, and the dev server builds
its own clients; neither runs a `functions/<name>` binary with the environment the SAM template
gives it. A variable the template names differently from the code, a client built wrong, or a
claim shaped differently by API Gateway would first show up in AWS. This script rehearses the
deployment instead:

- it creates in moto what the template describes and the functions use (the table with its
  indexes, stream and TTL, the proof bucket, the SES sending domain), under made-up physical
  names, with the deploy parameters samconfig.toml would give;
- it starts every function's binary once, as a warm Lambda container, with only the variables
  the template's `Environment.Variables` resolve to plus those Lambda itself sets (and
  AWS_ENDPOINT_URL pointing at moto), serving it events from a minimal Lambda Runtime API on
  127.0.0.1;
- it drives a booking from request to confirmed with API Gateway HTTP API (payload 2.0) events
  whose JWT claims are strings, `cognito:groups` flattened to `[psychologists]`, as API Gateway
  delivers them; then runs `expire` on a Scheduled Event and feeds the table's stream records,
  filtered and batched as the template's event source mapping says, to `notify`, runs `remind`,
  and looks at the SMS and emails moto received.

The event shapes follow AWS's documented examples (API Gateway's "Working with AWS Lambda proxy
integrations for HTTP APIs", payload format 2.0, with a JWT authorizer; the DynamoDB event source's
records; EventBridge's Scheduled Event). Not rehearsed: the arm64 release build (this runs the
debug binaries of the host), IAM (moto does not enforce the roles), the mapping's LATEST starting
position, retries, bisection and the dead-letter queue.

usage: run.py --bin-dir target/debug --template infra/template.yaml   (AWS_* from start_moto)
"""

import argparse
import base64
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import yaml

STACK = "kikao-rehearsal"
EAT = timezone(timedelta(hours=3))
RUNTIME = "/2018-06-01/runtime"


# ---------------------------------------------------------------------------- checks and output

class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, ok, detail="", fn=None):
        if ok:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f": {detail}" if detail else ""))
            if fn is not None:
                fn.print_output()
        return ok


# ------------------------------------------------------------------- the template, resolved

class Unresolvable(Exception):
    pass


class Stack:
    """The template's intrinsic functions resolved against the resources made in moto."""

    def __init__(self, template, region, account):
        self.t = template
        self.resources = template["Resources"]
        self.params = {k: v.get("Default") for k, v in template.get("Parameters", {}).items()}
        self.conditions = template.get("Conditions", {})
        self.pseudo = {"AWS::StackName": STACK, "AWS::Region": region, "AWS::AccountId": account,
                       "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}
        self.refs, self.attrs = {}, {}

    def ref(self, name):
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.params:
            if self.params[name] is None:
                raise Unresolvable(f"parameter {name} has no default")
            return str(self.params[name])
        if name in self.refs:
            return self.refs[name]
        r = self.resources.get(name, {})
        if r.get("Type") == "AWS::Logs::LogGroup" and "LogGroupName" in r.get("Properties", {}):
            return self.resolve(r["Properties"]["LogGroupName"])
        raise Unresolvable(f"Ref {name}: not a resource the rehearsal creates")

    def getatt(self, name, attr):
        if (name, attr) not in self.attrs:
            raise Unresolvable(f"GetAtt {name}.{attr}: not a resource the rehearsal creates")
        return self.attrs[(name, attr)]

    def sub(self, arg):
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def one(m):
            name = m.group(1)
            if name in extra:
                return str(self.resolve(extra[name]))
            if "." in name and not name.startswith("AWS::"):
                return str(self.getatt(*name.split(".", 1)))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!][^}]*)\}", one, text)

    def resolve(self, v):
        if isinstance(v, dict) and len(v) == 1:
            (k, arg), = v.items()
            if k == "Ref":
                return self.ref(arg)
            if k == "Fn::GetAtt":
                return self.getatt(*(arg if isinstance(arg, list) else arg.split(".", 1)))
            if k == "Fn::Sub":
                return self.sub(arg)
            if k == "Fn::Join":
                return arg[0].join(str(self.resolve(x)) for x in arg[1])
            if k == "Fn::If":
                cond, yes, no = arg
                return self.resolve(yes if self.holds(self.conditions[cond]) else no)
        if isinstance(v, dict):
            return {k: self.resolve(x) for k, x in v.items()}
        if isinstance(v, list):
            return [self.resolve(x) for x in v]
        return v

    def holds(self, cond):
        """A template condition, as CloudFormation evaluates it with these parameters."""
        (k, arg), = cond.items()
        if k == "Fn::Not":
            return not self.holds(arg[0])
        if k == "Fn::Equals":
            return str(self.resolve(arg[0])) == str(self.resolve(arg[1]))
        if k == "Condition":
            return self.holds(self.conditions[arg])
        raise Unresolvable(f"condition {k}: not one the rehearsal evaluates")

    def referenced(self, v):
        """Logical ids `v` refers to through Ref, GetAtt and Sub."""
        out = set()
        if isinstance(v, dict):
            for k, arg in v.items():
                if k == "Ref":
                    out.add(arg)
                elif k == "Fn::GetAtt":
                    out.add(arg[0] if isinstance(arg, list) else arg.split(".")[0])
                elif k == "Fn::Sub":
                    text = arg if isinstance(arg, str) else arg[0]
                    out |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!][^}]*)\}", text)}
                    if not isinstance(arg, str):
                        out |= self.referenced(arg[1])
                else:
                    out |= self.referenced(arg)
        elif isinstance(v, list):
            for x in v:
                out |= self.referenced(x)
        return out & set(self.resources)

    def functions(self):
        return {k: r for k, r in self.resources.items() if r["Type"] == "AWS::Serverless::Function"}


def made_up_name(lid):
    """As CloudFormation names what the template leaves unnamed, and unique per run (moto may be
    shared with other tests, and the names only ever reach the functions through variables)."""
    return f"{STACK}-{lid}-{uuid.uuid4().hex[:10]}"


def create_table(aws, stack, lid, p):
    name = made_up_name(lid)
    args = {k: p[k] for k in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes",
                              "BillingMode") if k in p}
    if "StreamSpecification" in p:
        args["StreamSpecification"] = {"StreamEnabled": True, **p["StreamSpecification"]}
    t = aws.client("dynamodb").create_table(TableName=name, **args)["TableDescription"]
    if p.get("TimeToLiveSpecification", {}).get("Enabled"):
        aws.client("dynamodb").update_time_to_live(TableName=name, TimeToLiveSpecification={
            "Enabled": True, "AttributeName": p["TimeToLiveSpecification"]["AttributeName"]})
    stack.refs[lid] = name
    stack.attrs[(lid, "Arn")] = t["TableArn"]
    if "LatestStreamArn" in t:
        stack.attrs[(lid, "StreamArn")] = t["LatestStreamArn"]


def create_bucket(aws, stack, lid, p):
    name = made_up_name(lid).lower()
    s3 = aws.client("s3")
    region = stack.pseudo["AWS::Region"]
    s3.create_bucket(Bucket=name, **({} if region == "us-east-1" else
                                     {"CreateBucketConfiguration": {"LocationConstraint": region}}))
    if p.get("VersioningConfiguration", {}).get("Status") == "Enabled":
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    stack.refs[lid] = name
    stack.attrs[(lid, "Arn")] = f"arn:aws:s3:::{name}"


def create_topic(aws, stack, lid, p):
    name = made_up_name(lid)
    arn = aws.client("sns").create_topic(Name=name)["TopicArn"]
    stack.refs[lid] = arn
    stack.attrs[(lid, "TopicArn")] = arn
    stack.attrs[(lid, "TopicName")] = name


def create_email_identity(aws, stack, lid, p):
    """The sending domain; in AWS its DKIM records in DNS verify it, moto takes it at once."""
    domain = stack.resolve(p["EmailIdentity"])
    aws.client("sesv2").create_email_identity(EmailIdentity=domain)
    stack.refs[lid] = domain


def stand_in_distribution(aws, stack, lid, p):
    """CloudFront itself is not rehearsed; only its domain name reaches a function (the
    dashboard's address in every message), so it gets one of CloudFront's shape."""
    stack.refs[lid] = uuid.uuid4().hex[:14].upper()
    stack.attrs[(lid, "DomainName")] = f"d{uuid.uuid4().hex[:13]}.cloudfront.net"


def stand_in_http_api(aws, stack, lid, p):
    """API Gateway itself is not rehearsed (the events stand in for it); only its id reaches a
    function, in the API's own address that payment requests name for their callback."""
    stack.refs[lid] = uuid.uuid4().hex[:10]


def create_user_pool(aws, stack, lid, p):
    """The pool with its sign-in attribute and the groups the template gives it (its triggers are
    rehearsed by invoking them, as Cognito would)."""
    cognito = aws.client("cognito-idp")
    args = {k: p[k] for k in ("UsernameAttributes", "AutoVerifiedAttributes") if k in p}
    pool = cognito.create_user_pool(PoolName=made_up_name(lid), **args)["UserPool"]
    for r in stack.resources.values():
        if r["Type"] == "AWS::Cognito::UserPoolGroup" and r["Properties"]["UserPoolId"] == {"Ref": lid}:
            cognito.create_group(UserPoolId=pool["Id"], GroupName=r["Properties"]["GroupName"])
    stack.refs[lid] = pool["Id"]
    stack.attrs[(lid, "Arn")] = pool["Arn"]


def create_secret(aws, stack, lid, p):
    """A secret of the length and alphabet the template has Secrets Manager generate."""
    g = p.get("GenerateSecretString", {})
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    value = "".join(alphabet[b % len(alphabet)] for b in os.urandom(g.get("PasswordLength", 32)))
    arn = aws.client("secretsmanager").create_secret(Name=made_up_name(lid), SecretString=value)["ARN"]
    stack.refs[lid] = arn


CREATORS = {"AWS::DynamoDB::Table": create_table, "AWS::S3::Bucket": create_bucket,
            "AWS::SecretsManager::Secret": create_secret, "AWS::Serverless::HttpApi": stand_in_http_api,
            "AWS::SNS::Topic": create_topic, "AWS::CloudFront::Distribution": stand_in_distribution,
            "AWS::SES::EmailIdentity": create_email_identity, "AWS::Cognito::UserPool": create_user_pool}


# ---------------------------------------------------------------- the Lambda Runtime API

class Function:
    """One deployed function: its binary as a warm container behind its own Runtime API."""

    def __init__(self, lid, resource, stack, bin_dir, aws_env, log_dir):
        p = resource["Properties"]
        self.crate = os.path.basename(p["CodeUri"].rstrip("/"))
        self.name = stack.resolve(p["FunctionName"]) if "FunctionName" in p else f"{STACK}-{lid}"
        self.timeout = int(p.get("Timeout", 3))
        self.arn = f"arn:aws:lambda:{stack.pseudo['AWS::Region']}:{stack.pseudo['AWS::AccountId']}:function:{self.name}"
        self.events = p.get("Events", {})
        self.binary = os.path.join(bin_dir, self.crate)
        self.pending = queue.Queue()
        self.results = {}
        self.done = threading.Condition()
        self.polled = threading.Event()
        self.init_error = None
        self.closed = False
        self.proc = None
        self.log_path = os.path.join(log_dir, f"{self.crate}.log")
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        variables = p.get("Environment", {}).get("Variables", {})
        self.env_errors = []
        self.template_env = {}
        for k, v in variables.items():
            try:
                self.template_env[k] = str(stack.resolve(v))
            except Unresolvable as e:
                self.env_errors.append(f"{k}: {e}")
        region = stack.pseudo["AWS::Region"]
        log_group = (stack.resolve(p["LoggingConfig"]["LogGroup"])
                     if "LogGroup" in p.get("LoggingConfig", {}) else f"/aws/lambda/{self.name}")
        # what Lambda sets for an OS-only runtime (provided.al2023), then the template's variables
        self.env = {
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self.server.server_address[1]}",
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(p.get("MemorySize", 128)),
            "AWS_LAMBDA_LOG_GROUP_NAME": log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": region, "AWS_DEFAULT_REGION": region,
            "_HANDLER": p.get("Handler", "bootstrap"),
            "LAMBDA_TASK_ROOT": "/var/task", "LAMBDA_RUNTIME_DIR": "/var/runtime",
            "LANG": "en_US.UTF-8", "TZ": ":UTC", "PATH": "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
            **aws_env,
            **self.template_env,
        }

    def _handler(self):
        fn = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path != f"{RUNTIME}/invocation/next":
                    return self.reply(404, b'{"errorType":"NotFound"}')
                fn.polled.set()
                while not fn.closed:
                    try:
                        rid, payload = fn.pending.get(timeout=0.2)
                    except queue.Empty:
                        continue
                    now = time.time()
                    return self.reply(200, payload, [
                        ("Lambda-Runtime-Aws-Request-Id", rid),
                        ("Lambda-Runtime-Deadline-Ms", str(int((now + fn.timeout) * 1000))),
                        ("Lambda-Runtime-Invoked-Function-Arn", fn.arn),
                        ("Lambda-Runtime-Trace-Id",
                         f"Root=1-{int(now):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"),
                    ])

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                m = re.fullmatch(rf"{RUNTIME}/invocation/([^/]+)/(response|error)", self.path)
                if self.path == f"{RUNTIME}/init/error":
                    fn.init_error = body.decode(errors="replace")
                elif m:
                    with fn.done:
                        fn.results[m.group(1)] = (m.group(2), body)
                        fn.done.notify_all()
                else:
                    return self.reply(404, b'{"errorType":"NotFound"}')
                self.reply(202, b'{"status":"OK"}')

        return Handler

    def start(self):
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([self.binary], env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def invoke(self, event):
        """Hands `event` to the running binary and waits for what it posts back."""
        if self.proc is None:
            return "exited", "the function was not started"
        rid = str(uuid.uuid4())
        self.pending.put((rid, json.dumps(event).encode()))
        deadline = time.time() + self.timeout + 5
        with self.done:
            while rid not in self.results:
                if self.proc.poll() is not None:
                    return "exited", f"the process exited with {self.proc.returncode}"
                if time.time() > deadline:
                    return "timeout", f"no answer within {self.timeout} s"
                self.done.wait(0.2)
            kind, body = self.results.pop(rid)
        return kind, json.loads(body)

    def output(self):
        if self.proc is None:
            return ""
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def print_output(self, lines=30):
        text = self.output().splitlines()[-lines:]
        if not text and not self.init_error:
            return
        print(f"     --- {self.crate} output (stdout+stderr), last {len(text)} lines ---")
        for line in text:
            print(f"     | {line}")
        if self.init_error:
            print(f"     | init error: {self.init_error}")

    def stop(self):
        self.closed = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.log.close()
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------- API Gateway (HTTP API, payload 2.0)

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class User:
    """A made-up Cognito user; `claims` is what API Gateway's JWT authorizer passes on."""

    def __init__(self, group, name, phone, email, region, mfa=False):
        self.sub, self.group, self.name, self.phone, self.email = str(uuid.uuid4()), group, name, phone, email
        self.mfa = mfa
        # the code Cognito sent the phone has been entered: SMS may go to it
        self.phone_verified = True
        self.pool = f"{region}_Rehearse1"
        self.iss = f"https://cognito-idp.{region}.amazonaws.com/{self.pool}"
        self.aud = uuid.uuid4().hex[:26]

    def claims(self):
        now = int(time.time())
        # all strings, the groups array flattened, as API Gateway delivers an ID token's claims
        return {"sub": self.sub, "cognito:groups": f"[{self.group}]", "email_verified": "true",
                "iss": self.iss, "cognito:username": self.sub, "origin_jti": str(uuid.uuid4()),
                "aud": self.aud, "event_id": str(uuid.uuid4()), "token_use": "id",
                "auth_time": str(now - 60), "name": self.name, "phone_number": self.phone,
                "phone_number_verified": "true" if self.phone_verified else "false",
                "exp": str(now + 3600), "iat": str(now - 60), "jti": str(uuid.uuid4()), "email": self.email,
                # what the pre-token-generation trigger adds once an authenticator app is set up
                **({"kikao_mfa": "totp"} if self.mfa else {})}

    def token(self):
        header = b64url(b'{"kid":"rehearsal","alg":"RS256"}')
        return f"{header}.{b64url(json.dumps(self.claims()).encode())}.{b64url(os.urandom(32))}"


class Api:
    def __init__(self, stack, functions):
        self.account, self.region = stack.pseudo["AWS::AccountId"], stack.pseudo["AWS::Region"]
        self.api_id = uuid.uuid4().hex[:10]
        self.routes = {}  # "PUT /api/sessions/{id}/approve" -> Function
        for fn in functions.values():
            for ev in fn.events.values():
                if ev["Type"] == "HttpApi":
                    self.routes[f"{ev['Properties']['Method'].upper()} {ev['Properties']['Path']}"] = fn
        self.last_request_id = None

    def event(self, route, user, path_params=None, body=None, headers=None, query=None):
        method, path_template = route.split(" ", 1)
        path = re.sub(r"\{(\w+)\}", lambda m: path_params[m.group(1)], path_template)
        now = datetime.now(timezone.utc)
        domain = f"{self.api_id}.execute-api.{self.region}.amazonaws.com"
        text = None if body is None else (body if isinstance(body, str) else json.dumps(body))
        request_id = b64url(os.urandom(12))[:14] + "="
        h = {"accept": "application/json", "host": domain, "user-agent": "Mozilla/5.0 (rehearsal)",
             "x-amzn-trace-id": f"Root=1-{int(now.timestamp()):08x}-{uuid.uuid4().hex[:24]}",
             "x-forwarded-for": "198.51.100.7", "x-forwarded-port": "443", "x-forwarded-proto": "https"}
        if user is not None:
            h["authorization"] = f"Bearer {user.token()}"
        if text is not None:
            h |= {"content-type": "application/json", "content-length": str(len(text.encode()))}
        h |= {k.lower(): v for k, v in (headers or {}).items()}
        ev = {
            "version": "2.0", "routeKey": route, "rawPath": path,
            "rawQueryString": urllib.parse.urlencode(query or {}),
            "headers": h,
            "requestContext": {
                "accountId": self.account, "apiId": self.api_id,
                "domainName": domain, "domainPrefix": self.api_id,
                "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                         "sourceIp": "198.51.100.7", "userAgent": h["user-agent"]},
                "requestId": request_id, "routeKey": route, "stage": "$default",
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"), "timeEpoch": int(now.timestamp() * 1000),
            },
            "isBase64Encoded": False,
        }
        # a public route (Authorizer NONE) has no authorizer in its context at all
        if user is not None:
            ev["requestContext"]["authorizer"] = {"jwt": {"claims": user.claims(), "scopes": None}}
        if path_params:
            ev["pathParameters"] = path_params
        if query:
            ev["queryStringParameters"] = dict(query)
        if text is not None:
            ev["body"] = text
        self.last_request_id = request_id
        return ev

    def call(self, route, user, **kw):
        """(function, status, headers, parsed JSON body or None, problem)."""
        fn = self.routes.get(route)
        if fn is None:
            return None, None, {}, None, "no function serves this route in the template"
        kind, out = fn.invoke(self.event(route, user, **kw))
        if kind != "response":
            return fn, None, {}, None, f"{kind}: {out}"
        # the payload 2.0 response API Gateway turns into the HTTP answer
        status, headers, body = out.get("statusCode"), out.get("headers") or {}, out.get("body") or ""
        if not (isinstance(status, int) and isinstance(body, str)
                and all(isinstance(v, str) for v in headers.values())):
            return fn, status, {}, None, f"not an API Gateway 2.0 response: {str(out)[:300]}"
        if out.get("isBase64Encoded"):
            body = base64.b64decode(body).decode()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            return fn, status, {}, None, f"body is not JSON: {body[:200]}"
        return fn, status, {k.lower(): v for k, v in headers.items()}, parsed, None


# ------------------------------------------------------------------- stream and schedule

def matches(pattern, value):
    """EventBridge-style filter pattern, exact-value lists only (what the template uses)."""
    if isinstance(pattern, list):
        if any(isinstance(p, dict) for p in pattern):
            raise NotImplementedError(f"content filter {pattern}")
        return value in pattern
    return isinstance(value, dict) and all(k in value and matches(p, value[k]) for k, p in pattern.items())


def stream_records(aws, stream_arn):
    streams = aws.client("dynamodbstreams")
    out = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            page = streams.get_records(ShardIterator=it, Limit=1000)
            out += page["Records"]
            it = page.get("NextShardIterator") if page["Records"] else None
    return out


def lambda_record(r, stream_arn, region):
    """A stream record as Lambda's DynamoDB event source hands it to the function."""
    d = dict(r["dynamodb"])
    d["ApproximateCreationDateTime"] = d["ApproximateCreationDateTime"].timestamp()
    return {"eventID": r["eventID"], "eventName": r["eventName"], "eventVersion": r["eventVersion"],
            "eventSource": "aws:dynamodb", "awsRegion": region, "dynamodb": d,
            "eventSourceARN": stream_arn}


def json_default(v):
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(v).decode()
    raise TypeError(type(v))


def moto_email(endpoint):
    """Every email moto's SES accepted, oldest first."""
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json") as r:
        return json.load(r).get("ses", {}).get("Message", [])


def moto_sms(endpoint):
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json") as r:
        return json.load(r).get("sns", {}).get("SMS", [])


# ---------------------------------------------------------------------------------- the run

def quarter_hour_ahead(days, hour):
    """RFC 3339 in Nairobi time, on the hour `days` ahead (on the 15-minute grid)."""
    t = (datetime.now(EAT) + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return t.isoformat()


def holds(pred, body):
    try:
        return bool(pred(body))
    except (KeyError, TypeError, IndexError, AttributeError):
        return False


def is_error(code):
    return lambda b: (set(b) == {"error"} and b["error"]["code"] == code
                      and isinstance(b["error"]["message"], str) and b["error"]["message"])


class Rehearsal:
    def __init__(self, aws, stack, endpoint, functions):
        self.aws, self.stack, self.endpoint = aws, stack, endpoint
        self.region, self.account = stack.pseudo["AWS::Region"], stack.pseudo["AWS::AccountId"]
        self.functions = functions
        self.by_crate = {fn.crate: fn for fn in functions.values()}
        self.api = Api(stack, functions)
        self.checks = Checks()
        self.check = self.checks.check
        self.psy = User("psychologists", "Dr. Zawadi Mwangaza", "+254700000123", "zawadi@example.test", self.region,
                        mfa=True)
        self.admin = User("practice_admins", "Nia Wambui", "+254700000301", "nia@example.test", self.region, mfa=True)
        self.client = User("clients", "Juma Kilele", "+254700000456", "juma@example.test", self.region)

    def expect(self, name, route, user, status, pred=lambda b: True, **kw):
        """Calls `route` as `user`; checks the status, a JSON answer, and `pred` on its body."""
        fn, got, headers, body, problem = self.api.call(route, user, **kw)
        ok = (problem is None and got == status and headers.get("content-type", "").startswith("application/json")
              and holds(pred, body))
        self.check(f"{name} -> {status}", ok, problem or f"status {got}, body {json.dumps(body)[:400]}", fn)
        return body if ok else None, headers

    def start(self):
        for fn in self.functions.values():
            self.check(f"{fn.crate}: environment resolves from the template ({', '.join(sorted(fn.template_env))})",
                       not fn.env_errors, "; ".join(fn.env_errors))
            if os.access(fn.binary, os.X_OK):
                fn.start()
        limit = time.time() + 30
        for fn in self.functions.values():
            while fn.proc and not fn.polled.is_set() and fn.proc.poll() is None and time.time() < limit:
                time.sleep(0.05)
            self.check(f"{fn.crate}: started and polled /invocation/next",
                       fn.proc is not None and fn.polled.is_set() and fn.proc.poll() is None and not fn.init_error,
                       "no binary " + fn.binary if fn.proc is None else "it did not", fn)

    def profiles(self):
        psy, client = self.psy, self.client
        self.expect("psychologist GET /api/me", "GET /api/me", psy, 200,
                    lambda b: b["role"] == "psychologist" and b["phone"] == psy.phone and b["id"] == psy.sub)
        # every day 08:00 to 18:00 Nairobi, so the run books the same whatever the weekday
        hours = {"weekly": [{"weekday": d, "start": "08:00", "end": "18:00"}
                            for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")],
                 "time_off": [], "buffer_minutes": 15, "notice_minutes": 120, "horizon_days": 180}
        me, _ = self.expect(
            "psychologist PUT /api/me (M-Pesa number, session type, working hours)", "PUT /api/me", psy, 200,
            lambda b: b["mpesa_number"] == "+254700000123" and len(b["session_types"]) == 1
            and b["availability"] == hours,
            body={"title": "Counselling psychologist", "mpesa_number": "0700 000 123",
                  "session_types": [{"name": "Individual", "duration_minutes": 60, "price_kes": 2500}],
                  "availability": hours})
        self.type_id = me["session_types"][0]["id"]
        self.expect("client PUT /api/me (phone, SMS and email on)", "PUT /api/me", client, 200,
                    lambda b: b["role"] == "client" and b["phone"] == client.phone
                    and b["notify_sms"] and b["notify_email"],
                    body={"phone": "0700 000 456", "notify_sms": True, "notify_email": True})
        # the consent gate: no booking before the privacy notice in force is accepted
        self.expect("client POST /api/sessions before accepting the privacy notice", "POST /api/sessions", client, 403,
                    is_error("consent_required"),
                    body={"psychologist_id": psy.sub, "session_type_id": self.type_id,
                          "starts_at": quarter_hour_ahead(2, 10)})
        notice, _ = self.expect("client GET /api/privacy-notice (names the practice's contact)",
                                "GET /api/privacy-notice", client, 200,
                                lambda b: b["contact"] == "privacy@kikao.example" and "outside Kenya" in b["summary"]
                                # the template's screenshot retention, passed to the function
                                and "Payment screenshots: 180 days" in json.dumps(b))
        self.expect("client PUT /api/me/consent with an earlier version", "PUT /api/me/consent", client, 409,
                    is_error("notice_changed"), body={"version": "2020-01-01"})
        self.expect("client PUT /api/me/consent", "PUT /api/me/consent", client, 200,
                    lambda b: b["consent_current"] and b["consent"]["version"] == notice["version"],
                    body={"version": notice["version"]})
        self.expect("client GET /api/psychologists lists the psychologist and the type, no numbers",
                    "GET /api/psychologists", client, 200,
                    lambda b: any(p["id"] == psy.sub and [t["id"] for t in p["session_types"]] == [self.type_id]
                                  for p in b["psychologists"]) and "700000123" not in json.dumps(b))

    def booking_to_confirmed(self):
        psy, client, expect, check = self.psy, self.client, self.expect, self.check
        self.booking = {"psychologist_id": psy.sub, "session_type_id": self.type_id,
                        "starts_at": quarter_hour_ahead(2, 10), "note": "First session, evenings suit me."}
        when = datetime.fromisoformat(self.booking["starts_at"])
        free, _ = expect("client GET /api/psychologists/{id}/availability (that day)",
                         "GET /api/psychologists/{id}/availability", client, 200,
                         lambda b: b["time_zone"] == "Africa/Nairobi" and len(b["slots"]) == 37,
                         path_params={"id": psy.sub},
                         query={"session_type_id": self.type_id,
                                "from": when.replace(hour=0).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                                "to": when.replace(hour=23).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})
        check("the time booked below is one of the free times",
              any(datetime.fromisoformat(x["starts_at"].replace("Z", "+00:00")) == when for x in free["slots"]),
              json.dumps(free)[:300])
        expect("client POST /api/sessions at 03:00 (outside the hours)", "POST /api/sessions", client, 422,
               lambda b: is_error("outside_availability")(b) and "working hours" in b["error"]["message"],
               body={**self.booking, "starts_at": quarter_hour_ahead(2, 3)})
        key = {"Idempotency-Key": "rehearsal-booking-1"}
        s, headers = expect("client POST /api/sessions", "POST /api/sessions", client, 201,
                            lambda b: b["status"] == "pending_approval" and b["price_kes"] == 2500,
                            body=self.booking, headers=key)
        sid = s["id"]
        self.confirmed_id = sid
        ids = {"id": sid}
        check("the booking answer carries Location", headers.get("location") == f"/api/sessions/{sid}",
              str(headers.get("location")))
        _, headers = expect("client POST /api/sessions again with the same Idempotency-Key", "POST /api/sessions",
                            client, 201, lambda b: b["id"] == sid, body=self.booking, headers=key)
        check("the repeat is a replay", headers.get("idempotent-replayed") == "true", str(headers))
        expect("psychologist GET /api/sessions/pending-approval", "GET /api/sessions/pending-approval", psy, 200,
               lambda b: [x["id"] for x in b["sessions"]] == [sid] and b["action_required"] == 1)

        approve = "PUT /api/sessions/{id}/approve"
        expect("client PUT approve (not theirs to do)", approve, client, 403, is_error("forbidden"), path_params=ids)
        expect("psychologist PUT approve", approve, psy, 200,
               lambda b: b["status"] == "approved" and b["payment_deadline"], path_params=ids)
        request_id = self.api.last_request_id
        expect("psychologist PUT approve again", approve, psy, 409, is_error("invalid_transition"), path_params=ids)
        fn = self.api.routes[approve]
        check("approve's log lines carry API Gateway's request id",
              f'"request_id":"{request_id}"' in fn.output(), request_id, fn)
        expect("client GET /api/sessions/{id}: pay KSh 2500 to the M-Pesa number", "GET /api/sessions/{id}",
               client, 200, lambda b: b["payment_instructions"]["mpesa_number"] == "+254700000123"
               and b["payment_instructions"]["amount_kes"] == 2500 and "submit_payment" in b["actions"],
               path_params=ids)

        # the screenshot: a presigned PUT to moto's S3, then the code with its key
        bucket = f"{self.endpoint}/{self.stack.refs['ProofBucket']}/"
        screenshot = b"\x89PNG\r\n\x1a\n" + b"rehearsal screenshot" * 8
        up, _ = expect("client POST payment-proof (presigned upload)", "POST /api/sessions/{id}/payment-proof",
                       client, 200, lambda b: b["method"] == "PUT" and b["key"].startswith(f"proofs/{sid}/"),
                       path_params=ids, body={"content_type": "image/png", "size_bytes": len(screenshot)})
        check("the upload URL is the proof bucket on moto, path style",
              up["upload_url"].startswith(f"{bucket}proofs/"), up["upload_url"][:120])
        req = urllib.request.Request(up["upload_url"], data=screenshot, method="PUT",
                                     headers={"Content-Type": up["headers"]["content-type"]})
        with urllib.request.urlopen(req) as r:
            check("PUT the screenshot to the presigned URL", r.status == 200, str(r.status))
        parse = "POST /api/payments/parse-mpesa"
        sms = ("QK71ABC123 Confirmed. Ksh2,500.00 sent to ZAWADI  MWANGAZA 0700***123 on 3/3/26 at 9:15 AM. "
               "New M-PESA balance is Ksh1,200.00. Transaction cost, Ksh0.00.")
        expect("client POST parse-mpesa with a payment", parse, client, 200,
               lambda b: b == {"kind": "send_money", "transaction_code": "QK71ABC123", "amount_kes": 2500.0,
                               "recipient_name": "ZAWADI MWANGAZA", "recipient_phone": "0700***123",
                               "account": None, "sent_at": "2026-03-03T06:15:00Z"},
               body={"message": sms})
        expect("client POST parse-mpesa with money received", parse, client, 422,
               lambda b: is_error("not_a_payment")(b) and "money you received" in b["error"]["message"],
               body={"message": "QK71ABC124 Confirmed.You have received Ksh2,500.00 from JUMA KILELE "
                                "0700***456 on 3/3/26 at 9:15 AM New M-PESA balance is Ksh3,700.00."})
        submit = "POST /api/sessions/{id}/submit-payment"
        expect("client POST submit-payment with a malformed code", submit, client, 422,
               is_error("validation_failed"), path_params=ids, body={"transaction_code": "QK71"})
        expect("client POST submit-payment (code and screenshot)", submit, client, 200,
               lambda b: b["status"] == "payment_submitted" and b["payment"]["transaction_code"] == "QK71ABC123"
               and b["payment"]["has_proof"], path_params=ids,
               body={"transaction_code": "QK71ABC123", "proof_key": up["key"]})
        link, _ = expect("psychologist GET payment-proof", "GET /api/sessions/{id}/payment-proof", psy, 200,
                         lambda b: b["url"].startswith(bucket), path_params=ids)
        with urllib.request.urlopen(link["url"]) as r:
            check("the proof link serves the uploaded screenshot", r.read() == screenshot)

        # the psychologist's M-Pesa statement (a CSV as a converter writes it) proves the code
        statement = "POST /api/payments/statement"
        paid_at = datetime.now(timezone(timedelta(hours=3))).strftime("%Y-%m-%d %H:%M:%S")
        rows = ("Receipt No,Completion Time,Details,Transaction Status,Paid In,Withdrawn,Balance\r\n"
                f"QK71ABC123,{paid_at},Funds received from - 07******456 AMANI REHEARSAL,Completed,2500,,9000\r\n")
        file = {"file_base64": base64.b64encode(rows.encode()).decode()}
        expect("client POST statement (only a psychologist checks payments)", statement, client, 403,
               is_error("forbidden"), body=file)
        expect("psychologist POST statement: the code is on it, in full", statement, psy, 200,
               lambda b: [m["session"]["id"] for m in b["matching"]] == [sid]
               and b["matching"][0]["payer_name"] == "AMANI REHEARSAL" and b["not_matching"] == [],
               body=file)
        fn = self.api.routes[statement]
        check("the statement reader logs nothing of the statement",
              "AMANI REHEARSAL" not in fn.output() and "QK71ABC123" not in fn.output(), fn.output()[-400:])

        meeting = self.stack.params["MeetingLinkBase"]
        expect("psychologist PUT verify-payment", "PUT /api/sessions/{id}/verify-payment", psy, 200,
               lambda b: b["status"] == "confirmed" and b["meeting_link"].startswith(meeting), path_params=ids)
        expect("client GET /api/sessions/{id}: confirmed, with the meeting link", "GET /api/sessions/{id}",
               client, 200, lambda b: b["status"] == "confirmed" and b["meeting_link"].startswith(meeting)
               and [e["to"] for e in b["history"]] == ["pending_approval", "approved", "payment_submitted", "confirmed"],
               path_params=ids)
        expect("client GET /api/me/changes: the bell, newest first", "GET /api/me/changes", client, 200,
               lambda b: [(c["action"], c["by"]) for c in b["changes"]][:2]
               == [("verify_payment", "psychologist"), ("submit_payment", "client")]
               and b["changes"][0]["session_id"] == sid and b["changes"][0]["with"] == psy.name)
        _, headers = expect("client GET /api/sessions", "GET /api/sessions", client, 200,
                            lambda b: [x["id"] for x in b["sessions"]] == [sid] and b["counts"]["confirmed"] == 1)
        fn, status, _, body, problem = self.api.call("GET /api/sessions", client,
                                                     headers={"If-None-Match": headers.get("etag", "")})
        check("client GET /api/sessions with If-None-Match -> 304, no body",
              problem is None and status == 304 and body is None, problem or f"status {status}, body {body}", fn)

    def other_routes(self):
        """Every other HTTP function answers a real event through its route and reads the table."""
        nobody = {"id": str(uuid.uuid4())}
        for route, user, body in [
            ("PUT /api/sessions/{id}/decline", self.psy, {"reason": "Away that week."}),
            ("PUT /api/sessions/{id}/reject-payment", self.psy, {"reason": "No such payment."}),
            ("PUT /api/sessions/{id}/reschedule", self.client, {"starts_at": quarter_hour_ahead(4, 11)}),
            ("PUT /api/sessions/{id}/reschedule/accept", self.client, None),
            ("PUT /api/sessions/{id}/reschedule/decline", self.client, None),
            ("PUT /api/sessions/{id}/start", self.psy, None),
            ("PUT /api/sessions/{id}/complete", self.psy, None),
            ("DELETE /api/sessions/{id}", self.client, None),
        ]:
            self.expect(f"{route} on an unknown booking", route, user, 404, is_error("not_found"),
                        path_params=nobody, body=body)

    def register_urls(self):
        """`infra/mpesa-callback-urls --register` registers the URLs it prints with Daraja, with the
        shortcode's own app from `<stack>/daraja/<shortcode>` in Secrets Manager, against a
        stand-in speaking Daraja's documented OAuth and C2B Register URL (v2) shapes
        (tests/fixtures/daraja/); Safaricom's "already registered" and a wrong key come back as a
        sentence, and a missing app names the secret to make."""
        check = self.check
        fixtures = os.path.join(os.path.dirname(__file__), "../fixtures/daraja")
        load = lambda name: json.load(open(os.path.join(fixtures, name)))
        app = {"consumer_key": "RehearsalConsumerKey0001", "consumer_secret": "RehearsalConsumerSecret0001",
               "passkey": "rehearsal-passkey"}
        registered, tokens = {}, []

        class Daraja(BaseHTTPRequestHandler):
            def log_message(self, *_):
                pass

            def answer(self, status, body):
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):
                basic = base64.b64encode(f"{app['consumer_key']}:{app['consumer_secret']}".encode()).decode()
                if not self.path.startswith("/oauth/v1/generate?grant_type=client_credentials"):
                    return self.answer(400, load("oauth_error_invalid_grant_type.json"))
                if self.headers.get("Authorization") != f"Basic {basic}":
                    return self.answer(400, load("oauth_error_invalid_authentication.json"))
                tokens.append(uuid.uuid4().hex[:28])
                self.answer(200, load("oauth_token_response.json") | {"access_token": tokens[-1]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if self.path != "/mpesa/c2b/v2/registerurl" or \
                        self.headers.get("Authorization") not in [f"Bearer {t}" for t in tokens]:
                    return self.answer(401, {"requestId": "0", "errorCode": "404.001.03",
                                             "errorMessage": "Invalid Access Token"})
                if set(body) != set(load("c2b_register_request.json")) or body["ResponseType"] != "Completed":
                    return self.answer(400, {"requestId": "0", "errorCode": "400.002.02",
                                             "errorMessage": "Bad Request"})
                # Safaricom's rule on URL content (docs/research/daraja.md, "URL content")
                if re.search(r"m-?pesa|safaricom|exe|cmd|sql|query", body["ConfirmationURL"] + body["ValidationURL"], re.I):
                    return self.answer(400, {"requestId": "0", "errorCode": "400.003.02",
                                             "errorMessage": "Bad Request - Invalid ConfirmationURL"})
                if body["ShortCode"] in registered:
                    return self.answer(500, load("c2b_register_error_already_registered.json"))
                registered[body["ShortCode"]] = body
                self.answer(200, load("c2b_register_response.json"))

        server = ThreadingHTTPServer(("127.0.0.1", 0), Daraja)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        daraja_url = f"http://127.0.0.1:{server.server_address[1]}"
        script = os.path.join(os.path.dirname(__file__), "../../infra/mpesa-callback-urls")

        def run(shortcode, api_url="https://api.kikao.example"):
            return subprocess.run(
                [sys.executable, script, "--shortcode", shortcode, "--region", self.region, "--stack", "kikao-rehearsal",
                 "--secret-id", self.stack.refs["MpesaCallbackKey"], "--api-url", api_url,
                 "--register", "--daraja-url", daraja_url], capture_output=True, text=True)

        try:
            gateway = run("600321", "https://example.execute-api.amazonaws.com")
            check("--register refuses API Gateway's own address, which Safaricom would refuse (\"exe\"), and says what to do",
                  gateway.returncode != 0 and "PublicApiUrl" in gateway.stderr and not registered,
                  gateway.stdout + gateway.stderr)
            missing = run("600321")
            check("--register without the shortcode's Daraja app names the secret to store, registers nothing",
                  missing.returncode != 0 and "kikao-rehearsal/daraja/600321" in missing.stderr and not registered,
                  missing.stdout + missing.stderr)
            secrets = boto3.client("secretsmanager", region_name=self.region)
            secrets.create_secret(Name="kikao-rehearsal/daraja/600321", SecretString=json.dumps(app))
            done = run("600321")
            want = dict(re.findall(r"^(ConfirmationURL|ValidationURL)\s+(\S+)$", done.stdout, re.M))
            got = registered.get("600321", {})
            check("--register registers the printed URLs with Daraja (v2, Completed) with the shortcode's own app",
                  done.returncode == 0 and "Registered" in done.stdout and len(want) == 2
                  and {k: got.get(k) for k in want} == want, done.stdout + done.stderr + json.dumps(got))
            again = run("600321")
            check("registering again: Safaricom's \"already registered\" said as what to do",
                  again.returncode != 0 and "URL Management" in again.stderr, again.stdout + again.stderr)
            secrets.create_secret(Name="kikao-rehearsal/daraja/600322",
                                  SecretString=json.dumps(app | {"consumer_secret": "not-the-secret"}))
            wrong = run("600322")
            check("a wrong consumer secret is said as such, nothing registered",
                  wrong.returncode != 0 and "consumer key and secret" in wrong.stderr and "600322" not in registered,
                  wrong.stdout + wrong.stderr)
        finally:
            server.shutdown()

    def mpesa(self):
        """A psychologist paid through a Paybill: M-Pesa's C2B report, posted down the path
        `infra/mpesa-callback-urls` prints from the stack's secret, confirms the booking it names
        through the callback function (which reads the secret from Secrets Manager); a retry and a
        forged path change nothing; a payment of no booking waits in the Unmatched list and is
        attached there."""
        expect, check, client = self.expect, self.check, self.client
        psy = User("psychologists", "Dr. Imani Wekesa", "+254700000124", "imani@example.test", self.region, mfa=True)
        hours = {"weekly": [{"weekday": d, "start": "08:00", "end": "18:00"}
                            for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")],
                 "time_off": [], "buffer_minutes": 0, "notice_minutes": 60, "horizon_days": 180}
        me, _ = expect("psychologist PUT /api/me (a Paybill, a session type, hours)", "PUT /api/me", psy, 200,
                       lambda b: b["payment_method"] == "paybill" and b["business_number"] == "600321",
                       body={"payment_method": "paybill", "business_number": "600321",
                             "session_types": [{"name": "Individual", "duration_minutes": 60, "price_kes": 3000}],
                             "availability": hours})
        type_id = me["session_types"][0]["id"]
        ids = []
        for days in (5, 6):
            b, _ = expect(f"client POST /api/sessions with the Paybill psychologist ({days} days ahead)",
                          "POST /api/sessions", client, 201, lambda b: b["price_kes"] == 3000,
                          body={"psychologist_id": psy.sub, "session_type_id": type_id,
                                "starts_at": quarter_hour_ahead(days, 9)})
            expect("psychologist PUT /api/sessions/{id}/approve", "PUT /api/sessions/{id}/approve", psy, 200,
                   lambda b: b["status"] == "approved", path_params={"id": b["id"]})
            ids.append(b["id"])
        s, _ = expect("client GET /api/sessions/{id}: pay the Paybill with the booking reference",
                      "GET /api/sessions/{id}", client, 200,
                      lambda b: b["payment_instructions"]["method"] == "paybill"
                      and b["payment_instructions"]["business_number"] == "600321"
                      and re.fullmatch(r"KK[0-9A-Z]{6}", b["payment_instructions"]["account"]),
                      path_params={"id": ids[0]})
        urls = subprocess.run(
            [sys.executable, os.path.join(os.path.dirname(__file__), "../../infra/mpesa-callback-urls"),
             "--shortcode", "600321", "--region", self.region, "--secret-id", self.stack.refs["MpesaCallbackKey"],
             "--api-url", "https://example.execute-api.amazonaws.com"],
            capture_output=True, text=True)
        found = re.search(r"ConfirmationURL \S+/api/hooks/(\S+)/c2b/confirmation", urls.stdout)
        check("infra/mpesa-callback-urls prints the Paybill's URLs from the stack's secret",
              urls.returncode == 0 and found is not None, urls.stdout + urls.stderr)
        token = found.group(1) if found else "none"
        self.register_urls()
        fixture = os.path.join(os.path.dirname(__file__), "../fixtures/daraja/c2b_confirmation_paybill.json")
        with open(fixture) as f:
            report = json.load(f)
        report |= {"TransID": "RKR8MPESA1", "TransAmount": "3000.00", "BusinessShortCode": "600321",
                   "BillRefNumber": s["payment_instructions"]["account"], "FirstName": "JUMA"}
        confirm = "POST /api/hooks/{token}/c2b/confirmation"
        for attempt in ("", " again (Safaricom retries)"):
            expect(f"Safaricom POST /api/hooks/{{token}}/c2b/confirmation{attempt}", confirm, None, 200,
                   lambda b: b == {"ResultCode": 0, "ResultDesc": "Success"},
                   path_params={"token": token}, body=report)
        after, _ = expect("client GET /api/sessions/{id}: confirmed by M-Pesa's report", "GET /api/sessions/{id}",
                          client, 200, lambda b: b["status"] == "confirmed" and b["payment"]["by_mpesa"]
                          and b["payment"]["transaction_code"] == "RKR8MPESA1" and b["version"] == 3,
                          path_params={"id": ids[0]})
        forged = token[:-4] + ("0000" if not token.endswith("0000") else "1111")
        expect("a forged path: 404, nothing read", confirm, None, 404, is_error("not_found"),
               path_params={"token": forged}, body=report | {"TransID": "RKR8MPESA2"})
        expect("Safaricom POST /api/hooks/{token}/c2b/validation", "POST /api/hooks/{token}/c2b/validation", None,
               200, lambda b: b == {"ResultCode": "0", "ResultDesc": "Accepted"}, path_params={"token": token},
               body=report)
        expect("a malformed report on the right path is acknowledged", confirm, None, 200,
               lambda b: b["ResultCode"] == 0, path_params={"token": token}, body="{not json")
        expect("a report of no booking's reference", confirm, None, 200, lambda b: b["ResultCode"] == 0,
               path_params={"token": token}, body=report | {"TransID": "RKR8MPESA3", "BillRefNumber": "KK000000"})
        expect("psychologist GET /api/payments/unmatched", "GET /api/payments/unmatched", psy, 200,
               lambda b: [(p["receipt"], p["why"]) for p in b] == [("RKR8MPESA3", "unknown_reference")])
        expect("psychologist POST /api/payments/unmatched/{receipt}/attach",
               "POST /api/payments/unmatched/{receipt}/attach", psy, 200,
               lambda b: b["status"] == "confirmed" and b["payment"]["transaction_code"] == "RKR8MPESA3",
               path_params={"receipt": "RKR8MPESA3"}, body={"session_id": ids[1]})
        # the payment request on the phone: no Daraja here, so the functions are checked up to it
        expect("client POST /api/sessions/{id}/pay-by-mpesa on a booking of no one's", "POST /api/sessions/{id}/pay-by-mpesa",
               client, 404, is_error("not_found"), path_params={"id": str(uuid.uuid4())}, body={})
        expect("client GET /api/payments/checkouts/{checkout_id} of a request never sent",
               "GET /api/payments/checkouts/{checkout_id}", client, 404, is_error("not_found"),
               path_params={"checkout_id": "ws_CO_0000000000000000"})
        stk = {"Body": {"stkCallback": {"MerchantRequestID": "1-2-3", "CheckoutRequestID": "ws_CO_0000000000000000",
                                        "ResultCode": 1032, "ResultDesc": "Request cancelled by user"}}}
        expect("Safaricom POST /api/hooks/{token}/stk for a request Kikao never sent (acknowledged)",
               "POST /api/hooks/{token}/stk", None, 200, lambda b: b["ResultCode"] == 0,
               path_params={"token": token}, body=stk)
        expect("a forged STK callback path: 404", "POST /api/hooks/{token}/stk", None, 404, is_error("not_found"),
               path_params={"token": forged}, body=stk)
        self.mpesa_psy = psy

    def scheduled_event(self):
        return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
                "account": self.account, "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": self.region,
                "resources": [f"arn:aws:events:{self.region}:{self.account}:rule/{STACK}-ExpireEvery5Minutes-REHEARSE"],
                "detail": {}}

    def expiry(self):
        """A second booking, approved; nothing is due; then its payment deadline passes."""
        s, _ = self.expect("client POST /api/sessions (a second booking)", "POST /api/sessions", self.client, 201,
                           lambda b: b["status"] == "pending_approval",
                           body={**self.booking, "starts_at": quarter_hour_ahead(3, 14), "note": None})
        ids = {"id": s["id"]}
        self.expect("psychologist PUT approve (second booking)", "PUT /api/sessions/{id}/approve", self.psy, 200,
                    lambda b: b["status"] == "approved", path_params=ids)
        expire = self.by_crate["expire"]
        rate = next(e for e in expire.events.values() if e["Type"] == "Schedule")["Properties"]["Schedule"]
        kind, out = expire.invoke(self.scheduled_event())
        self.check(f"expire on a Scheduled Event ({rate}), nothing due yet",
                   kind == "response" and out == {"expired": 0, "skipped": 0}, f"{kind}: {out}", expire)
        # the deadline (in the session document) and its `due` index key, a minute ago
        stamp = (datetime.now(timezone.utc) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self.aws.client("dynamodb").update_item(
            TableName=self.stack.refs["Table"], Key={"pk": {"S": f"SESSION#{s['id']}"}, "sk": {"S": "SESSION"}},
            UpdateExpression="SET #doc.payment_deadline = :d, due_sk = :due",
            ConditionExpression="#status = :approved",
            ExpressionAttributeNames={"#doc": "doc", "#status": "status"},
            ExpressionAttributeValues={":d": {"S": stamp}, ":due": {"S": f"{stamp}#{s['id']}"},
                                       ":approved": {"S": "approved"}})
        kind, out = expire.invoke(self.scheduled_event())
        self.check("expire cancels the booking whose payment deadline passed",
                   kind == "response" and out == {"expired": 1, "skipped": 0}, f"{kind}: {out}", expire)
        self.expect("client GET the expired booking", "GET /api/sessions/{id}", self.client, 200,
                    lambda b: b["status"] == "cancelled" and b["cancelled_by"] == "system", path_params=ids)

    def notifications(self):
        """The table's stream, filtered and batched as the event source mapping says, to notify."""
        aws, check, notify = self.aws, self.check, self.by_crate["notify"]
        source = next(e for e in notify.events.values() if e["Type"] == "DynamoDB")["Properties"]
        stream_arn = self.stack.resolve(source["Stream"])
        patterns = [json.loads(f["Pattern"]) for f in source.get("FilterCriteria", {}).get("Filters", [])]
        # the mapping starts at LATEST when deployed; here it exists from the table's first write
        records = [lambda_record(r, stream_arn, self.region) for r in stream_records(aws, stream_arn)]
        wanted = [r for r in records if not patterns or any(matches(p, r) for p in patterns)]
        kinds = [r["dynamodb"]["NewImage"]["kind"]["S"] for r in wanted]
        check("the stream holds one event item per change (7) and the alert of the new M-Pesa number (1), "
              "among the other writes",
              kinds.count("event") == 7 and kinds.count("alert") == 1 and len(records) > len(wanted),
              f"{kinds} of {len(records)}")

        domain = self.stack.params["EmailDomain"]
        check("notify sends email from the template's sending domain",
              notify.env.get("KIKAO_EMAIL_FROM") == f"Kikao <no-reply@{domain}>",
              f"KIKAO_EMAIL_FROM={notify.env.get('KIKAO_EMAIL_FROM')}")
        mail_before = len(moto_email(self.endpoint))
        sent_before = {m["message_id"] for m in moto_sms(self.endpoint)}

        size = int(source.get("BatchSize", 100))
        for i in range(0, len(wanted), size):
            batch = json.loads(json.dumps({"Records": wanted[i:i + size]}, default=json_default))
            kind, out = notify.invoke(batch)
            check(f"notify, a batch of {len(batch['Records'])}: partial batch response with no failures",
                  kind == "response" and out == {"batchItemFailures": []}, f"{kind}: {out}", notify)

        sms = [m for m in moto_sms(self.endpoint) if m["message_id"] not in sent_before]
        to_psy = [m["message"] for m in sms if m["phone_number"] == self.psy.phone]
        to_client = [m["message"] for m in sms if m["phone_number"] == self.client.phone]
        count = lambda msgs, phrase: sum(phrase in m for m in msgs)
        check("SMS to the psychologist: the M-Pesa number alert, 2 requests, 1 payment with its code, 1 expiry",
              len(to_psy) == 5 and count(to_psy, "your M-Pesa number was changed") == 1
              and count(to_psy, "New booking request for") == 2
              and count(to_psy, "M-Pesa payment QK71ABC123 was submitted") == 1
              and count(to_psy, "no payment in time") == 1, json.dumps(to_psy))
        check("SMS to the client: 2 approvals with the M-Pesa number, 1 confirmation, 1 expiry",
              len(to_client) == 4 and count(to_client, "M-Pesa 0700 000 123") == 2
              and count(to_client, "is confirmed") == 1
              and count(to_client, "no payment in time") == 1, json.dumps(to_client))
        app_url = notify.env.get("KIKAO_APP_URL", "")
        check("every SMS fits one message, names nobody and ends with the dashboard's address",
              app_url.startswith("https://") and all(
                  len(m) <= 160 and "Juma" not in m and "Zawadi" not in m and m.endswith(app_url)
                  for m in to_psy + to_client), f"{app_url} {json.dumps(to_psy + to_client)[:300]}")
        # the stream delivers the same records again (a retry after a timeout): nothing twice
        batch = json.loads(json.dumps({"Records": wanted}, default=json_default))
        kind, out = notify.invoke(batch)
        again = [m for m in moto_sms(self.endpoint) if m["message_id"] not in sent_before]
        check("notify, the same records delivered again: no failures and no second SMS",
              kind == "response" and out == {"batchItemFailures": []} and len(again) == len(sms),
              f"{kind}: {out}; {len(again)} SMS after, {len(sms)} before", notify)
        emails = moto_email(self.endpoint)[mail_before:]
        to = sorted(a for e in emails for a in e["destinations"]["ToAddresses"])
        check("emails through SES: 4 to each party's own address (and the alert to the psychologist's), "
              "from the sending domain",
              to == sorted([self.psy.email] * 5 + [self.client.email] * 4)
              and all(e["source"] == f"Kikao <no-reply@{domain}>" for e in emails),
              json.dumps([(e["source"], e["destinations"], e["subject"]) for e in emails])[:400])

    def reminders(self):
        """The reminder job on its schedule: nothing due, then the confirmed session 23 hours
        away (its start moved in the table), reminded to both parties once."""
        remind, check = self.by_crate["remind"], self.check
        rate = next(e for e in remind.events.values() if e["Type"] == "Schedule")["Properties"]["Schedule"]
        kind, out = remind.invoke(self.scheduled_event())
        check(f"remind on a Scheduled Event ({rate}), nothing due yet",
              kind == "response" and out == {"sent": 0}, f"{kind}: {out}", remind)
        t = datetime.now(timezone.utc) + timedelta(hours=23)
        start = t.replace(minute=t.minute // 15 * 15, second=0, microsecond=0)
        doc_time = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        key_time = start.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
        sid = self.confirmed_id
        ddb, key = self.aws.client("dynamodb"), {"pk": {"S": f"SESSION#{sid}"}, "sk": {"S": "SESSION"}}
        # put back afterwards: the time it holds in the psychologist's calendar is the real one
        original = ddb.get_item(TableName=self.stack.refs["Table"], Key=key)["Item"]
        ddb.update_item(
            TableName=self.stack.refs["Table"], Key=key,
            # and confirmed two days ago: a session confirmed inside the window gets no reminder
            UpdateExpression="SET #doc.starts_at = :s, #doc.updated_at = :u, upcoming_sk = :k",
            ConditionExpression="#status = :confirmed",
            ExpressionAttributeNames={"#doc": "doc", "#status": "status"},
            ExpressionAttributeValues={":s": {"S": doc_time}, ":k": {"S": f"{key_time}#{sid}"},
                                       ":u": {"S": (start - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")},
                                       ":confirmed": {"S": "confirmed"}})
        before = {m["message_id"] for m in moto_sms(self.endpoint)}
        kind, out = remind.invoke(self.scheduled_event())
        check("remind sends the 24-hour reminder by SMS and email to both parties",
              kind == "response" and out == {"sent": 4}, f"{kind}: {out}", remind)
        sms = [m for m in moto_sms(self.endpoint) if m["message_id"] not in before]
        check("each party's SMS says it is a reminder",
              sorted(m["phone_number"] for m in sms) == sorted([self.psy.phone, self.client.phone])
              and all(m["message"].startswith("Kikao: Reminder: your session is on") for m in sms),
              json.dumps(sms)[:400])
        kind, out = remind.invoke(self.scheduled_event())
        check("remind again: each reminder went once", kind == "response" and out == {"sent": 0},
              f"{kind}: {out}", remind)
        ddb.put_item(TableName=self.stack.refs["Table"], Item=original)

    def sign_up(self):
        """Cognito's post-confirmation trigger for someone who just signed up (a pool and user
        made in moto, as the template's pool would hold them): they become a client, and a retry
        changes nothing; a reset password changes nobody."""
        fn, check, cognito = self.by_crate["confirm-sign-up"], self.check, self.aws.client("cognito-idp")
        pool = cognito.create_user_pool(PoolName=made_up_name("UserPool"))["UserPool"]["Id"]
        for g in ("clients", "psychologists"):
            cognito.create_group(UserPoolId=pool, GroupName=g)
        email = f"{uuid.uuid4().hex[:8]}@example.test"
        user = cognito.admin_create_user(UserPoolId=pool, Username=email)["User"]
        sub = next(a["Value"] for a in user["Attributes"] if a["Name"] == "sub")
        event = {"version": "1", "region": self.region, "userPoolId": pool, "userName": user["Username"],
                 "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "1example23456789abcdefghij"},
                 "triggerSource": "PostConfirmation_ConfirmSignUp",
                 "request": {"userAttributes": {"sub": sub, "email_verified": "true", "cognito:user_status": "CONFIRMED",
                                                "name": "Amina Wekesa", "phone_number": "+254700000789", "email": email}},
                 "response": {}}
        for attempt in ("", " again"):
            kind, out = fn.invoke(event)
            groups = [g["GroupName"] for g in cognito.admin_list_groups_for_user(UserPoolId=pool, Username=user["Username"])["Groups"]]
            check(f"confirm-sign-up{attempt}: the event comes back unchanged and the person is a client",
                  kind == "response" and out == event and groups == ["clients"], f"{kind}: {str(out)[:200]}; {groups}", fn)
        item = self.aws.client("dynamodb").get_item(TableName=self.stack.refs["Table"],
                                                    Key={"pk": {"S": f"USER#{sub}"}, "sk": {"S": "PROFILE"}}).get("Item")
        check("confirm-sign-up made the client's profile from what they gave",
              item is not None and item["doc"]["M"]["name"]["S"] == "Amina Wekesa"
              and item["doc"]["M"]["role"]["S"] == "client", str(item)[:300], fn)
        reset = {**event, "triggerSource": "PostConfirmation_ConfirmForgotPassword", "userName": "someone-else"}
        kind, out = fn.invoke(reset)
        check("confirm-sign-up after a password reset: nothing to do, the event back",
              kind == "response" and out == reset, f"{kind}: {str(out)[:200]}", fn)

    def admin_routes(self):
        """The practice administrator's functions against the pool the template's variables name:
        an invitation makes the account in moto's pool and its group, a deactivation disables
        it; nobody else may, and an administrator without an authenticator app may only look."""
        expect, check = self.expect, self.check
        cognito = self.aws.client("cognito-idp")
        pool = self.stack.refs["UserPool"]
        email = f"{uuid.uuid4().hex[:8]}@example.test"
        invited, _ = expect("admin POST /api/admin/psychologists", "POST /api/admin/psychologists", self.admin, 201,
                            lambda b: b["email"] == email and b["active"] is True,
                            body={"name": "Dr. Baraka Mwende", "email": email, "phone": "0700 000 777"})
        if invited:
            user = cognito.admin_get_user(UserPoolId=pool, Username=email)
            attrs = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
            groups = [g["GroupName"] for g in
                      cognito.admin_list_groups_for_user(UserPoolId=pool, Username=email)["Groups"]]
            check("invite-psychologist made the account in the pool, in psychologists",
                  attrs.get("sub") == invited["id"] and attrs.get("phone_number") == "+254700000777"
                  and groups == ["psychologists"] and user["Enabled"], f"{attrs} {groups}",
                  self.by_crate["invite-psychologist"])
        invitation = {"name": "Dr. Baraka Mwende", "email": email, "phone": "0700 000 777"}
        expect("admin POST /api/admin/psychologists again before they sign in: invited again, the same account",
               "POST /api/admin/psychologists", self.admin, 201,
               lambda b: invited is not None and b["id"] == invited["id"], body=invitation)
        # they choose their own password: the address is taken from now on
        cognito.admin_set_user_password(UserPoolId=pool, Username=email, Password="Made-up-passw0rd", Permanent=True)
        expect("admin POST /api/admin/psychologists with an address in use", "POST /api/admin/psychologists",
               self.admin, 409, is_error("account_exists"), body=invitation)
        expect("admin GET /api/admin/psychologists lists the invited one", "GET /api/admin/psychologists", self.admin,
               200, lambda b: invited is not None and any(p["id"] == invited["id"] for p in b["psychologists"]))
        unready = User("practice_admins", "Nia Wambui", "+254700000301", "nia@example.test", self.region)
        expect("admin without an authenticator app POST /api/admin/psychologists", "POST /api/admin/psychologists",
               unready, 403, is_error("mfa_required"),
               body={"name": "Dr. X", "email": "x@example.test", "phone": "0700 000 778"})
        for who, user in (("client", self.client), ("psychologist", self.psy)):
            expect(f"{who} GET /api/admin/psychologists", "GET /api/admin/psychologists", user, 403,
                   is_error("forbidden"))
        if invited:
            expect("admin POST deactivate", "POST /api/admin/psychologists/{id}/deactivate", self.admin, 200,
                   lambda b: b["psychologist"]["active"] is False and b["cancelled_bookings"] == 0,
                   path_params={"id": invited["id"]}, body={})
            user = cognito.admin_get_user(UserPoolId=pool, Username=email)
            check("deactivate-psychologist disabled the account in the pool", not user["Enabled"], str(user)[:200],
                  self.by_crate["deactivate-psychologist"])

    def first_admin(self):
        """infra/create-first-admin, as README says to run it after the first deploy, against the
        pool the template describes: the person is made and put in practice_admins; a second run
        changes nothing; a bad phone number is refused with a sentence, and nobody is made."""
        check, cognito = self.check, self.aws.client("cognito-idp")
        pool = self.stack.refs["UserPool"]
        email = f"admin-{uuid.uuid4().hex[:6]}@example.test"
        script = os.path.join(os.path.dirname(__file__), "..", "..", "infra", "create-first-admin")
        args = [sys.executable, script, "--user-pool-id", pool, "--email", email, "--name", "Nia Wambui",
                "--phone", "0700 000 301"]
        for attempt in ("", " again"):
            run = subprocess.run(args, capture_output=True, text=True)
            groups = [] if run.returncode else [g["GroupName"] for g in cognito.admin_list_groups_for_user(
                UserPoolId=pool, Username=email)["Groups"]]
            check(f"infra/create-first-admin{attempt}: the administrator is in practice_admins",
                  run.returncode == 0 and groups == ["practice_admins"], f"{run.stdout}{run.stderr}{groups}")
        attrs = {a["Name"]: a["Value"] for a in cognito.admin_get_user(UserPoolId=pool, Username=email)["UserAttributes"]}
        check("infra/create-first-admin stored the name and phone as given",
              attrs.get("name") == "Nia Wambui" and attrs.get("phone_number") == "+254700000301", str(attrs))
        bad = subprocess.run([*args[:5], "other@example.test", "--name", "X", "--phone", "12345"],
                             capture_output=True, text=True)
        check("infra/create-first-admin with a bad phone: a sentence, no account",
              bad.returncode != 0 and "Kenyan mobile number" in bad.stderr and "Traceback" not in bad.stderr,
              bad.stderr)

    def token_claims(self):
        """Cognito's pre-token-generation trigger (version 1 event): someone without an
        authenticator app gets the claim suppressed; once they set one up with the calls the
        dashboard makes, every token they are issued says so."""
        fn, check, cognito = self.by_crate["add-token-claims"], self.check, self.aws.client("cognito-idp")
        pool = self.stack.refs["UserPool"]
        email = f"{uuid.uuid4().hex[:8]}@example.test"
        cognito.admin_create_user(UserPoolId=pool, Username=email)
        username = cognito.admin_get_user(UserPoolId=pool, Username=email)["Username"]
        event = {"version": "1", "triggerSource": "TokenGeneration_HostedAuth", "region": self.region,
                 "userPoolId": pool, "userName": username,
                 "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "1example23456789abcdefghij"},
                 "request": {"userAttributes": {"email": email, "email_verified": "true"},
                             "groupConfiguration": {"groupsToOverride": ["psychologists"], "iamRolesToOverride": [],
                                                    "preferredRole": None}},
                 "response": {"claimsOverrideDetails": None}}
        kind, out = fn.invoke(event)
        check("add-token-claims without an authenticator app: the claim suppressed, the rest unchanged",
              kind == "response" and out["response"]["claimsOverrideDetails"] == {"claimsToSuppress": ["kikao_mfa"]}
              and out["request"] == event["request"], f"{kind}: {str(out)[:300]}", fn)
        client = cognito.create_user_pool_client(UserPoolId=pool, ClientName="rehearsal",
                                                 ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"])
        client_id = client["UserPoolClient"]["ClientId"]
        cognito.admin_set_user_password(UserPoolId=pool, Username=email, Password="Made-up-passw0rd", Permanent=True)
        auth = cognito.admin_initiate_auth(UserPoolId=pool, ClientId=client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                           AuthParameters={"USERNAME": email, "PASSWORD": "Made-up-passw0rd"})
        access = auth["AuthenticationResult"]["AccessToken"]
        cognito.associate_software_token(AccessToken=access)
        cognito.verify_software_token(AccessToken=access, UserCode="123456")
        cognito.set_user_mfa_preference(AccessToken=access,
                                        SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
        refresh = {**event, "triggerSource": "TokenGeneration_RefreshTokens"}
        kind, out = fn.invoke(refresh)
        check("add-token-claims with an authenticator app: kikao_mfa=totp in the token",
              kind == "response" and out["response"]["claimsOverrideDetails"]
              == {"claimsToAddOrOverride": {"kikao_mfa": "totp"}}, f"{kind}: {str(out)[:300]}", fn)

    def privacy(self):
        """The client takes their data away, then erases their account: through the export and
        erasure functions, the second with the bucket and the user pool."""
        client, psy, expect = self.client, self.psy, self.expect
        sid = self.confirmed_id
        expect("client GET /api/me/export (everything about them, nobody else's contacts, who opened their screenshot)",
               "GET /api/me/export", client, 200,
               lambda b: b["kind"] == "kikao-personal-data" and sid in [x["id"] for x in b["bookings"]]
               and b["profile"]["phone"] == client.phone and psy.email not in json.dumps(b)
               and {"action": "proof_viewed", "by": psy.sub, "session_id": sid}.items()
               <= next(a for a in b["audit"] if a["action"] == "proof_viewed").items()
               and b["audit"][-1]["action"] == "data_exported"
               # the notify function recorded each message it sent them
               and {("approve", "sms", sid), ("verify_payment", "email", sid)}
               <= {(m["about"], m["channel"], m["session_id"]) for m in b["messages"]})
        bucket = self.stack.refs["ProofBucket"]
        s3 = self.aws.client("s3")
        kept = lambda: s3.list_object_versions(Bucket=bucket, Prefix=f"proofs/{sid}/").get("Versions", [])
        self.check("the confirmed booking's screenshot is in the bucket", len(kept()) >= 1, "no versions")
        expect("psychologist DELETE /api/me (a psychologist leaves by deactivation)", "DELETE /api/me", psy, 403,
               is_error("forbidden"), body={"confirm": "DELETE MY DATA"})
        expect("client DELETE /api/me with the words mistyped", "DELETE /api/me", client, 422,
               is_error("validation_failed"), body={"confirm": "delete"})
        expect("client DELETE /api/me", "DELETE /api/me", client, 200,
               lambda b: b["erased"] and b["kept_bookings"] >= 1, body={"confirm": "DELETE MY DATA"})
        self.check("the screenshot's every version is gone from the bucket", kept() == [], str(kept()))
        expect("client GET /api/me after the erasure", "GET /api/me", client, 403, is_error("account_erased"))
        sent = self.aws.client("dynamodb").query(
            TableName=self.stack.refs["Table"], KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": f"SENT#{client.sub}"}})["Items"]
        self.check("the record of messages sent to the client is gone", sent == [], str(sent)[:300])
        expect("psychologist GET /api/sessions/{id}: kept without the client's name",
               "GET /api/sessions/{id}", psy, 200,
               lambda b: b["client"]["name"] == "Former client" and b["note"] is None, path_params={"id": sid})

    def logs(self):
        """What the functions wrote: JSON lines, with no phone number, transaction code or token."""
        secrets = ["700000123", "700 000 123", "700000456", "700 000 456", "QK71ABC123", "RKR8MPESA1",
                   self.psy.token().split(".")[0] + "."]
        for fn in self.functions.values():
            text = fn.output()
            bad = [line for line in text.splitlines() if not line.startswith("{")]
            leaked = [s for s in secrets if s in text]
            self.check(f"{fn.crate}: logs are JSON lines with no phone number, code or token",
                       not bad and not leaked, f"non-JSON {bad[:2]}, leaked {leaked}", fn)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--template", required=True)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` stops the functions
    started = time.time()
    endpoint, region = os.environ["AWS_ENDPOINT_URL"], os.environ.get("AWS_REGION", "us-east-1")
    aws = boto3.session.Session(region_name=region)
    with open(args.template) as f:
        stack = Stack(yaml.safe_load(f), region, aws.client("sts").get_caller_identity()["Account"])
    # what a deploy passes for the parameters that have no default (samconfig.toml, README)
    stack.params.update({"CognitoDomainPrefix": "kikao-rehearsal", "EmailDomain": "kikao.example"})

    # what the functions' variables and event sources refer to, from the template's properties
    # the sending domain, which the functions' policies and From address name by parameter
    needed = {lid for lid, r in stack.resources.items() if r["Type"] == "AWS::SES::EmailIdentity"}
    for r in stack.functions().values():
        needed |= stack.referenced(r["Properties"].get("Environment", {}))
        needed |= stack.referenced(r["Properties"].get("Events", {}))
    for lid in sorted(needed):
        r = stack.resources[lid]
        if r["Type"] in CREATORS:
            CREATORS[r["Type"]](aws, stack, lid, r.get("Properties", {}))
            print(f"created {r['Type']} {lid}: {stack.refs[lid]}")

    # credentials as the execution role's would be, and the one addition: the endpoint of moto
    aws_env = {"AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
               "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
               "AWS_SESSION_TOKEN": "rehearsal-session-token", "AWS_ENDPOINT_URL": endpoint}
    log_dir = tempfile.mkdtemp(prefix="kikao-rehearsal-")
    functions = {lid: Function(lid, r, stack, args.bin_dir, aws_env, log_dir)
                 for lid, r in stack.functions().items()}
    run = Rehearsal(aws, stack, endpoint, functions)
    try:
        for step in (run.start, run.profiles, run.booking_to_confirmed, run.other_routes, run.expiry,
                     run.notifications, run.reminders, run.sign_up, run.admin_routes, run.first_admin, run.token_claims,
                     run.mpesa, run.privacy, run.logs):
            step()
    except Exception as e:  # a step whose answer the next ones need failed: stop there
        traceback.print_exc()
        run.check("the rehearsal ran to the end", False, f"{type(e).__name__}: {e}")
    finally:
        for fn in functions.values():
            fn.stop()
    failed = run.checks.failed
    if failed:
        print(f"function logs: {log_dir}")
    else:
        shutil.rmtree(log_dir)
    print(f"rehearsal took {time.time() - started:.1f} s")
    print(f"rehearsal: {run.checks.passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
