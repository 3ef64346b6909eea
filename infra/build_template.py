#!/usr/bin/env python3
"""Writes infra/template.yaml, Kikao's SAM stack, from one table of functions.

Twenty-nine HTTP functions differ only in their route, the IAM actions their code uses and the
variables it reads; writing each by hand would mean twenty-nine chances to drift. The stream
notifier, the reminder job, the expiry job and Cognito's two triggers are written out below. The routes
come from the route table in shared/http/src/routes.rs, so a new endpoint cannot be forgotten
here; shared/lambda/tests/template_agrees.rs checks the result against the code.

It also writes infra/lambda/Makefile, which `sam build` runs for every function (BuildMethod
makefile): the first target builds all the functions in one cargo invocation, so the shared
crates compile once and the links share both cores; every later target finds cargo's work done
and copies its own bootstrap.

usage: infra/build_template.py          write infra/template.yaml and infra/lambda/Makefile
       infra/build_template.py --check  fail if a committed file is not what this writes
"""

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "infra" / "template.yaml"
MAKEFILE = ROOT / "infra" / "lambda" / "Makefile"

ROUTE = re.compile(r'route!\(\s*"(GET|POST|PUT|DELETE)",\s*"([^"]+)",\s*(\w+),\s*"([a-z0-9-]+)",?\s*\)')
ROUTES_RS = (ROOT / "shared/http/src/routes.rs").read_text()
ROUTES = [m.groups() for m in ROUTE.finditer(ROUTES_RS)]
# routes under this prefix take no token (routes.rs: PUBLIC_PREFIX)
PUBLIC_PREFIX = re.search(r'pub const PUBLIC_PREFIX: &str = "([^"]+)";', ROUTES_RS).group(1)

# What each handler's code does to the table and the proof bucket (see the handlers and the
# DynamoDB adapter: a change is one TransactWriteItems, authorized as its Put/Update/Delete/
# ConditionCheck items). Nothing may Scan.
READ = ["dynamodb:GetItem", "dynamodb:Query"]
CHANGE = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"]
TRANSITION = (READ + CHANGE, [])
ACCESS = {
    "get-me": (["dynamodb:GetItem", "dynamodb:PutItem"], []),
    "update-me": (["dynamodb:GetItem", "dynamodb:PutItem"], []),
    # the notice is in the code; only the caller's token is read
    "get-privacy-notice": ([], []),
    "record-consent": (["dynamodb:GetItem", "dynamodb:PutItem"], []),
    # the profile (made on first sight), then every booking page by page with its history, the
    # audit entries and the messages sent to the caller (one Query each), and its own audit entry
    "export-me": (READ + ["dynamodb:PutItem"], []),
    # the shell profile, each open booking cancelled and every booking rewritten without the
    # client (a transaction), the record of messages sent to them deleted, and the screenshots'
    # every version deleted
    "erase-me": (READ + CHANGE, ["s3:DeleteObjectVersion"]),
    "list-psychologists": (["dynamodb:Query"], []),
    # the psychologist's profile, then one range Query of the time they hold
    "psychologist-availability": (READ, []),
    "book-session": (READ + ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"], []),
    "list-sessions": (READ, []),
    "list-pending-approval": (READ, []),
    "get-session": (READ, []),
    # the bell: the bookings changed last (one Query), then each one's history (one Query each)
    "list-changes": (READ, []),
    "approve-session": TRANSITION,
    "decline-session": TRANSITION,
    "request-proof-upload": (["dynamodb:GetItem"], ["s3:PutObject"]),
    "parse-mpesa": (["dynamodb:GetItem"], []),  # the booking it is checked against, if named
    # the psychologist's profile (the number the statement must be for), then their bookings
    # waiting for verification, page by page; the statement itself is never stored
    "check-statement": (READ, []),
    "submit-payment": (READ + CHANGE, ["s3:GetObject"]),
    # the booking (and the audit entry of the view: AUDIT_WRITERS)
    "get-payment-proof": (["dynamodb:GetItem"], ["s3:GetObject", "s3:GetObjectVersion"]),
    "verify-payment": TRANSITION,
    "reject-payment": TRANSITION,
    "propose-reschedule": TRANSITION,
    "accept-reschedule": TRANSITION,
    "decline-reschedule": TRANSITION,
    "start-session": TRANSITION,
    "complete-session": TRANSITION,
    "cancel-session": TRANSITION,
    # the practice administrator's: the role index, a profile made with a conditional put, and
    # (deactivation) the psychologist's open bookings withdrawn like any transition
    "list-practitioners": (["dynamodb:Query"], []),
    # the psychologist's profile (their Till or Paybill), then one Query of its unmatched payments
    "list-unmatched-payments": (["dynamodb:GetItem", "dynamodb:Query"], []),
    # the profile, the payment, the booking; then the confirmation (a transition) and the
    # payment settled (a put and a delete in one transaction)
    "attach-payment": TRANSITION,
    # Safaricom's report: the payment kept (a conditional put), the account's psychologists (the
    # role index) and their bookings waiting for payment, the confirmation (a transition) and the
    # payment settled
    "mpesa-c2b-confirmation": TRANSITION,
    # checks the path with the callback key and answers; touches no table
    "mpesa-c2b-validation": ([], []),
    # the booking and the client's profile, then the payment request kept (a put)
    "pay-by-mpesa": (["dynamodb:GetItem", "dynamodb:PutItem"], []),
    # the payment request and its booking; one whose callback is late is asked about and its
    # answer kept (a put on condition it is still pending: CHECKOUT_WRITERS, that item only)
    "get-checkout": (["dynamodb:GetItem"], []),
    # the payment request, then the payment kept and settled on its booking (a transition)
    "mpesa-stk-callback": TRANSITION,
    "invite-psychologist": (["dynamodb:GetItem", "dynamodb:PutItem"], []),
    "deactivate-psychologist": TRANSITION,
}

# The user pool calls of the functions whose `main` says `accounts`: an invitation makes the
# account and puts it in its group; a deactivation disables it and revokes its refresh tokens.
COGNITO = {
    # (AdminGetUser: an address already in the pool is invited again only if never signed in)
    "invite-psychologist": ["cognito-idp:AdminCreateUser", "cognito-idp:AdminGetUser", "cognito-idp:AdminAddUserToGroup"],
    "deactivate-psychologist": ["cognito-idp:AdminDisableUser", "cognito-idp:AdminUserGlobalSignOut"],
    # an erasure deletes the client's account for good
    "erase-me": ["cognito-idp:AdminDeleteUser"],
}

HTTP_ENV = {
    "KIKAO_TABLE": {"Ref": "Table"},
    "KIKAO_MEETING_LINK_BASE": {"Ref": "MeetingLinkBase"},
}
# only the functions whose code touches screenshots (their `main` says `proofs`) get the bucket
PROOF_ENV = {**HTTP_ENV, "KIKAO_PROOF_BUCKET": {"Ref": "ProofBucket"}}
ACCOUNTS_ENV = {**HTTP_ENV, "KIKAO_USER_POOL_ID": {"Ref": "UserPool"}}
# the privacy notice names where people write about their data: the practice's address
NOTICE_ENV = {**HTTP_ENV, "KIKAO_PRIVACY_CONTACT": {"Fn::If": ["HasPrivacyContact", {"Ref": "PrivacyContact"}, {"Fn::Sub": "privacy@${EmailDomain}"}]},
              "KIKAO_PROOF_RETENTION_DAYS": {"Ref": "ProofRetentionDays"}}
# M-Pesa's callbacks are public (no authorizer): the secret in the path authenticates them, made
# with the key only these two functions may read
CALLBACKS = {"mpesa-c2b-confirmation", "mpesa-c2b-validation"}
CALLBACK_ENV = {**HTTP_ENV, "KIKAO_MPESA_CALLBACK_KEY_SECRET": {"Ref": "MpesaCallbackKey"},
                "KIKAO_MPESA_SOURCE_IPS": {"Ref": "MpesaSourceIps"}}
# the payment request on a client's phone and its callback call Daraja with the shortcode's own
# app, kept by the practice in Secrets Manager under the stack's prefix (README, Deploying); the
# request names the callback path, made with the same key
DARAJA = {"pay-by-mpesa", "mpesa-stk-callback"}
# where Safaricom's callbacks are sent: Safaricom refuses URLs with "exe" in them, which API
# Gateway's own address has (execute-api), so a practice that takes M-Pesa through a Till or
# Paybill maps a custom domain to the API and names it in PublicApiUrl (README, A Till or Paybill)
CALLBACK_BASE = {"Fn::If": ["HasPublicApiUrl", {"Ref": "PublicApiUrl"},
                            {"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.amazonaws.com"}]}
# reading a payment request asks Daraja about one whose callback is late: the Daraja apps, not the key
DARAJA_QUERY = {"get-checkout"}
DARAJA_SECRETS = {"Fn::Sub": "arn:aws:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/daraja/*"}
DARAJA_ENV = {**CALLBACK_ENV,
              "KIKAO_DARAJA_URL": {"Fn::If": ["DarajaSandbox", "https://sandbox.safaricom.co.ke", "https://api.safaricom.co.ke"]},
              "KIKAO_DARAJA_SECRET_PREFIX": {"Fn::Sub": "${AWS::StackName}/daraja/"},
              "KIKAO_API_URL": CALLBACK_BASE}
DARAJA_QUERY_ENV = {**HTTP_ENV, "KIKAO_DARAJA_URL": DARAJA_ENV["KIKAO_DARAJA_URL"],
                    "KIKAO_DARAJA_SECRET_PREFIX": DARAJA_ENV["KIKAO_DARAJA_SECRET_PREFIX"]}
# a deactivation withdraws every open booking of the psychologist, one write each; an export reads
# every booking of the caller with its history; an erasure rewrites every booking of the client:
# inside the request, up to API Gateway's 30 s, not the 10 s every other function has
TIMEOUTS = {"deactivate-psychologist": 29, "export-me": 29, "erase-me": 29, "check-statement": 29,
            # Daraja's token and request, each up to 10 s
            "pay-by-mpesa": 29, "mpesa-stk-callback": 29, "get-checkout": 29}
# reading a statement PDF is the one CPU-bound request (about 2 ms a page on a 2-core dev
# machine: README, Performance); Lambda gives CPU in proportion to memory
MEMORY = {"check-statement": 512}
# the triggers the user pool names cannot name the pool back (a cycle): their policies name user
# pools by pattern, and each Lambda permission lets only this pool invoke
ANY_USER_POOL = {"Fn::Sub": "arn:aws:cognito-idp:${AWS::Region}:${AWS::AccountId}:userpool/*"}


def logical(name):
    return "".join(part.capitalize() for part in name.split("-"))


def role(name, statements):
    """A role for one function: its own log group, and the statements its code needs."""
    log = {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
           "Resource": {"Fn::GetAtt": [f"{logical(name)}Logs", "Arn"]}}
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
            },
            "Policies": [{"PolicyName": "least-privilege", "PolicyDocument": {"Version": "2012-10-17", "Statement": [log] + statements}}],
        },
    }


def log_group(name):
    return {
        "Type": "AWS::Logs::LogGroup",
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": {"LogGroupName": {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}-{name}"},
                       "RetentionInDays": {"Ref": "LogRetentionDays"}},
    }


def function(name, description, env, events, timeout=10, memory=256):
    return {
        "Type": "AWS::Serverless::Function",
        # make runs infra/lambda/Makefile from the repository root (WorkingDirectory), where
        # cargo finds the workspace; CodeUri only says which crate this is.
        "Metadata": {"BuildMethod": "makefile", "ContextPath": "lambda", "WorkingDirectory": ".."},
        "Properties": {
            "FunctionName": {"Fn::Sub": f"${{AWS::StackName}}-{name}"},
            "Description": description,
            "CodeUri": f"../functions/{name}",
            "Handler": "bootstrap",
            "Runtime": "provided.al2023",
            "Architectures": ["arm64"],
            "MemorySize": memory,
            "Timeout": timeout,
            "Role": {"Fn::GetAtt": [f"{logical(name)}Role", "Arn"]},
            "LoggingConfig": {"LogGroup": {"Ref": f"{logical(name)}Logs"}, "LogFormat": "Text"},
            "Environment": {"Variables": env},
            "Events": events,
        },
    }


TABLE_ARN = {"Fn::GetAtt": ["Table", "Arn"]}
INDEX_ARN = {"Fn::Sub": "${Table.Arn}/index/*"}
PROOFS_ARN = {"Fn::Sub": "${ProofBucket.Arn}/proofs/*"}


# Functions that read only, but record each use in the audit trail: they may put items in the
# trail's partitions (`AUDIT#<person>`) and nowhere else.
AUDIT_WRITERS = {"get-payment-proof"}
AUDIT_ONLY = {"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": [TABLE_ARN],
              "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["AUDIT#*"]}}}


# reading a payment request keeps what Safaricom said of it, and may write nothing else
CHECKOUT_WRITERS = {"get-checkout"}
CHECKOUT_ONLY = {"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": [TABLE_ARN],
                 "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["CHECKOUT#*"]}}}


def table_statement(actions):
    uses_index = "dynamodb:Query" in actions
    return {"Effect": "Allow", "Action": actions, "Resource": [TABLE_ARN, INDEX_ARN] if uses_index else [TABLE_ARN]}


INDEXES = [("by_client", "gsi1pk", "gsi1sk"), ("by_psychologist", "gsi2pk", "gsi2sk"),
           ("by_psychologist_status", "gsi3pk", "gsi3sk"), ("due", "due_pk", "due_sk"), ("by_role", "role_pk", "role_sk"),
           ("upcoming", "upcoming_pk", "upcoming_sk"), ("client_views", "cview_pk", "cview_sk"),
           ("psychologist_views", "pview_pk", "pview_sk")]

SITE_ORIGIN = {"Fn::Sub": "https://${SiteDistribution.DomainName}"}
SITE_URL = {"Fn::Sub": "https://${SiteDistribution.DomainName}/"}
CSP = ("default-src 'self'; "
       "connect-src 'self' https://*.execute-api.${AWS::Region}.amazonaws.com https://${CognitoDomainPrefix}.auth.${AWS::Region}.amazoncognito.com "
       "https://cognito-idp.${AWS::Region}.amazonaws.com "
       "https://kikao-proofs-${AWS::AccountId}-${AWS::Region}-${Stage}.s3.${AWS::Region}.amazonaws.com; "
       "img-src 'self' blob: data: https://kikao-proofs-${AWS::AccountId}-${AWS::Region}-${Stage}.s3.${AWS::Region}.amazonaws.com; "
       "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self' https://${CognitoDomainPrefix}.auth.${AWS::Region}.amazoncognito.com; frame-ancestors 'none'")


def build():
    resources = {}
    for method, path, handler, name in ROUTES:
        dynamo, s3 = ACCESS[name]
        statements = [table_statement(dynamo)] if dynamo else []
        if name in AUDIT_WRITERS:
            statements.append(AUDIT_ONLY)
        if name in CHECKOUT_WRITERS:
            statements.append(CHECKOUT_ONLY)
        if s3:
            statements.append({"Effect": "Allow", "Action": s3, "Resource": PROOFS_ARN})
        if name == "erase-me":
            # listing a booking's versions is a bucket action, narrowed to the proofs folder
            statements.append({"Effect": "Allow", "Action": ["s3:ListBucketVersions"],
                               "Resource": {"Fn::GetAtt": ["ProofBucket", "Arn"]},
                               "Condition": {"StringLike": {"s3:prefix": "proofs/*"}}})
        if name in COGNITO:
            statements.append({"Effect": "Allow", "Action": COGNITO[name], "Resource": {"Fn::GetAtt": ["UserPool", "Arn"]}})
        if name in CALLBACKS | DARAJA:
            statements.append({"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": {"Ref": "MpesaCallbackKey"}})
        if name in DARAJA | DARAJA_QUERY:
            statements.append({"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": DARAJA_SECRETS})
        L = logical(name)
        resources[f"{L}Logs"] = log_group(name)
        resources[f"{L}Role"] = role(name, statements)
        env = ({**PROOF_ENV, **ACCOUNTS_ENV} if s3 and name in COGNITO else PROOF_ENV if s3
               else ACCOUNTS_ENV if name in COGNITO else NOTICE_ENV if name == "get-privacy-notice"
               else CALLBACK_ENV if name in CALLBACKS else DARAJA_ENV if name in DARAJA
               else DARAJA_QUERY_ENV if name in DARAJA_QUERY else HTTP_ENV)
        api = {"ApiId": {"Ref": "HttpApi"}, "Method": method, "Path": path}
        if path.startswith(PUBLIC_PREFIX):
            api["Auth"] = {"Authorizer": "NONE"}
        resources[L] = function(name, f"{method} {path}", env, {
            "Api": {"Type": "HttpApi", "Properties": api},
        }, timeout=TIMEOUTS.get(name, 10), memory=MEMORY.get(name, 256))

    # the key M-Pesa's callback paths are made with (infra/mpesa-callback-urls prints them);
    # generated here, never seen by anyone but the two callback functions and the operator
    resources["MpesaCallbackKey"] = {
        "Type": "AWS::SecretsManager::Secret",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "Description": "Kikao: the key the M-Pesa (Daraja) callback paths are made with",
            "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True},
        },
    }

    # the stream notifier: reads profiles, writes its sent markers (a conditional put before
    # each message; after it, a delete, or an update with a put of the recipient's record of it
    # in one transaction), publishes SMS to phone numbers (not to any
    # topic), sends email through SES from the practice's domain only, and sends what keeps
    # failing to the dead-letter queue
    sends = [
        {"Effect": "Allow", "Action": "sns:Publish", "NotResource": "arn:aws:sns:*:*:*"},
        {"Effect": "Allow", "Action": "ses:SendEmail",
         "Resource": {"Fn::Sub": "arn:aws:ses:${AWS::Region}:${AWS::AccountId}:identity/${EmailDomain}"},
         "Condition": {"StringEquals": {"ses:FromAddress": {"Fn::Sub": "no-reply@${EmailDomain}"}}}},
    ]
    outbox_env = {
        "KIKAO_TABLE": {"Ref": "Table"},
        "KIKAO_EMAIL_FROM": {"Fn::Sub": "Kikao <no-reply@${EmailDomain}>"},
        "KIKAO_SMS_SENDER_ID": {"Ref": "SmsSenderId"},
        "KIKAO_APP_URL": SITE_URL,
    }
    resources["NotifyLogs"] = log_group("notify")
    resources["NotifyRole"] = role("notify", [
        table_statement(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]),
        {"Effect": "Allow", "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"],
         "Resource": {"Fn::GetAtt": ["Table", "StreamArn"]}},
        *sends,
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["NotifyDeadLetters", "Arn"]}},
    ])
    resources["Notify"] = function("notify", "DynamoDB stream -> SMS and email for the other party, and account alerts", outbox_env, {
        "Stream": {"Type": "DynamoDB", "Properties": {
            "Stream": {"Fn::GetAtt": ["Table", "StreamArn"]},
            "StartingPosition": "LATEST",
            "BatchSize": 25,
            "MaximumBatchingWindowInSeconds": 1,
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": 5,
            "MaximumRecordAgeInSeconds": 21600,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["NotifyDeadLetters", "Arn"]}}},
            "FilterCriteria": {"Filters": [{"Pattern": json.dumps({"eventName": ["INSERT"], "dynamodb": {"NewImage": {"kind": {"S": ["event", "alert"]}}}})}]},
        }},
    }, timeout=30)

    # the reminder job: two range reads of sparse indexes (upcoming, due), the profiles, and the
    # same sent markers and sends as the notifier; on its own schedule, so it never slows the API
    resources["RemindLogs"] = log_group("remind")
    resources["RemindRole"] = role("remind", [
        table_statement(["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]),
        *sends,
    ])
    resources["Remind"] = function("remind", "Reminders before sessions and payment deadlines", outbox_env, {
        "Every5Minutes": {"Type": "Schedule", "Properties": {"Schedule": "rate(5 minutes)", "Description": "Send the reminders that are due"}},
    }, timeout=60)

    # Cognito's post-confirmation trigger: puts a person who signed up in `clients` and makes
    # their profile. The user pool names this function, so its policy names user pools by
    # pattern rather than by the pool's ARN (which would make a cycle); Cognito runs it only for
    # this pool (the permission below).
    resources["ConfirmSignUpLogs"] = log_group("confirm-sign-up")
    resources["ConfirmSignUpRole"] = role("confirm-sign-up", [
        table_statement(["dynamodb:GetItem", "dynamodb:PutItem"]),
        {"Effect": "Allow", "Action": "cognito-idp:AdminAddUserToGroup", "Resource": ANY_USER_POOL},
    ])
    resources["ConfirmSignUp"] = function("confirm-sign-up", "Cognito post-confirmation: a person who signed up becomes a client",
                                          {"KIKAO_TABLE": {"Ref": "Table"}}, {})
    resources["ConfirmSignUpPermission"] = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {"Action": "lambda:InvokeFunction", "FunctionName": {"Fn::GetAtt": ["ConfirmSignUp", "Arn"]},
                       "Principal": "cognito-idp.amazonaws.com", "SourceArn": {"Fn::GetAtt": ["UserPool", "Arn"]}},
    }

    # Cognito's pre-token-generation trigger: reads the user's MFA settings and says in the ID
    # token whether they sign in with an authenticator app (the API's write gate reads it)
    resources["AddTokenClaimsLogs"] = log_group("add-token-claims")
    resources["AddTokenClaimsRole"] = role("add-token-claims", [
        {"Effect": "Allow", "Action": "cognito-idp:AdminGetUser", "Resource": ANY_USER_POOL},
    ])
    resources["AddTokenClaims"] = function("add-token-claims", "Cognito pre-token generation: the MFA claim in every ID token", {}, {})
    resources["AddTokenClaimsPermission"] = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {"Action": "lambda:InvokeFunction", "FunctionName": {"Fn::GetAtt": ["AddTokenClaims", "Arn"]},
                       "Principal": "cognito-idp.amazonaws.com", "SourceArn": {"Fn::GetAtt": ["UserPool", "Arn"]}},
    }

    resources["ExpireLogs"] = log_group("expire")
    resources["ExpireRole"] = role("expire", [table_statement(READ + CHANGE)])
    resources["Expire"] = function("expire", "Cancels bookings nobody answered or paid in time", {"KIKAO_TABLE": {"Ref": "Table"}}, {
        "Every5Minutes": {"Type": "Schedule", "Properties": {"Schedule": "rate(5 minutes)", "Description": "Expire overdue bookings"}},
    }, timeout=60)

    resources.update({
        "Table": {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in ["pk", "sk"] + [k for _, p, s in INDEXES for k in (p, s)]],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "GlobalSecondaryIndexes": [
                    {"IndexName": n, "KeySchema": [{"AttributeName": p, "KeyType": "HASH"}, {"AttributeName": s, "KeyType": "RANGE"}],
                     "Projection": {"ProjectionType": "ALL"}} for n, p, s in INDEXES],
                "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
                "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "SSESpecification": {"SSEEnabled": True},
                "DeletionProtectionEnabled": True,
            },
        },
        "ProofBucket": {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BucketName": {"Fn::Sub": "kikao-proofs-${AWS::AccountId}-${AWS::Region}-${Stage}"},
                "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
                "VersioningConfiguration": {"Status": "Enabled"},
                "CorsConfiguration": {"CorsRules": [{"AllowedMethods": ["PUT", "GET"], "AllowedOrigins": [SITE_ORIGIN],
                                                     "AllowedHeaders": ["content-type"], "MaxAge": 600}]},
                "LifecycleConfiguration": {"Rules": [
                    {"Id": "payment-screenshots", "Status": "Enabled", "Prefix": "proofs/",
                     "ExpirationInDays": {"Ref": "ProofRetentionDays"},
                     # a submitted screenshot is pinned by version; a later upload under its key,
                     # or the expiry's delete marker, makes it noncurrent, and it stays evidence
                     # as long again: gone by twice the period, as the privacy notice says
                     "NoncurrentVersionExpiration": {"NoncurrentDays": {"Ref": "ProofRetentionDays"}}},
                    {"Id": "abort-incomplete-uploads", "Status": "Enabled", "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
                ]},
            },
        },
        "ProofBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {"Bucket": {"Ref": "ProofBucket"}, "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Sid": "HttpsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": [{"Fn::GetAtt": ["ProofBucket", "Arn"]}, {"Fn::Sub": "${ProofBucket.Arn}/*"}],
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}},
        },
        # the practice's sending domain: SES verifies it by the DKIM records in the outputs
        "EmailIdentity": {"Type": "AWS::SES::EmailIdentity", "Properties": {"EmailIdentity": {"Ref": "EmailDomain"}}},
        "NotifyDeadLetters": {"Type": "AWS::SQS::Queue", "Properties": {"MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": True}},
        "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": "Kikao alarms", "KmsMasterKeyId": "alias/aws/sns"}},
        "AlarmEmailSubscription": {"Type": "AWS::SNS::Subscription", "Condition": "HasAlarmEmail",
                                   "Properties": {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}},
        "DeadLettersAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "AlarmDescription": "Notifications are failing: stream records reached the dead-letter queue.",
            "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["NotifyDeadLetters", "QueueName"]}}],
            "Statistic": "Maximum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": "AlarmTopic"}]}},
        "Api5xxAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "AlarmDescription": "The API is answering with server errors.",
            "Namespace": "AWS/ApiGateway", "MetricName": "5xx",
            "Dimensions": [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}, {"Name": "Stage", "Value": "$default"}],
            "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 5,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": "AlarmTopic"}]}},
        "ApiAccessLogs": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete",
                          "Properties": {"RetentionInDays": {"Ref": "LogRetentionDays"}}},
        "HttpApi": {
            "Type": "AWS::Serverless::HttpApi",
            "Properties": {
                "Description": "Kikao API",
                "Auth": {"DefaultAuthorizer": "Cognito", "Authorizers": {"Cognito": {
                    "IdentitySource": "$request.header.Authorization",
                    "JwtConfiguration": {
                        "issuer": {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"},
                        "audience": [{"Ref": "UserPoolClient"}]}}}},
                "CorsConfiguration": {
                    "AllowOrigins": [SITE_ORIGIN],
                    "AllowMethods": ["GET", "POST", "PUT", "DELETE"],
                    "AllowHeaders": ["authorization", "content-type", "if-match", "if-none-match", "idempotency-key"],
                    "ExposeHeaders": ["etag", "location", "retry-after"],
                    "MaxAge": 600},
                "DefaultRouteSettings": {"ThrottlingBurstLimit": {"Ref": "ApiBurstLimit"}, "ThrottlingRateLimit": {"Ref": "ApiRateLimit"}},
                "AccessLogSettings": {
                    "DestinationArn": {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]},
                    "Format": json.dumps({"requestId": "$context.requestId", "ip": "$context.identity.sourceIp",
                                          "time": "$context.requestTime", "route": "$context.routeKey",
                                          "status": "$context.status", "latencyMs": "$context.responseLatency",
                                          "integrationError": "$context.integrationErrorMessage"})},
            },
        },
        "UserPool": {
            "Type": "AWS::Cognito::UserPool",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "UserPoolName": {"Fn::Sub": "${AWS::StackName}-users"},
                "UsernameAttributes": ["email"],
                "AutoVerifiedAttributes": ["email"],
                "Schema": [{"Name": "name", "AttributeDataType": "String", "Required": True, "Mutable": True},
                           {"Name": "phone_number", "AttributeDataType": "String", "Required": False, "Mutable": True}],
                "Policies": {"PasswordPolicy": {"MinimumLength": 10, "RequireLowercase": True, "RequireNumbers": True,
                                                "RequireUppercase": False, "RequireSymbols": False}},
                "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
                "LambdaConfig": {"PostConfirmation": {"Fn::GetAtt": ["ConfirmSignUp", "Arn"]},
                                 "PreTokenGenerationConfig": {"LambdaArn": {"Fn::GetAtt": ["AddTokenClaims", "Arn"]}, "LambdaVersion": "V1_0"}},
                # psychologists and administrators must add an authenticator app (the API refuses
                # their changes until the token says so); clients may
                "MfaConfiguration": "OPTIONAL",
                "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
                # a new address takes effect only once the code sent to it is entered. A phone is
                # confirmed the same way (GetUserAttributeVerificationCode, VerifyUserAttribute),
                # but Kikao keeps its own flag (SMS only to a number confirmed), since listing
                # phone_number here needs it auto-verified, which would send the sign-up code by
                # SMS instead of email
                "UserAttributeUpdateSettings": {"AttributesRequireVerificationBeforeUpdate": ["email"]},
                # how Cognito texts the code that confirms a phone
                "SmsConfiguration": {"SnsCallerArn": {"Fn::GetAtt": ["CognitoSmsRole", "Arn"]},
                                     "ExternalId": {"Fn::Sub": "${AWS::StackName}-cognito-sms"}},
                "VerificationMessageTemplate": {"DefaultEmailOption": "CONFIRM_WITH_CODE",
                                                "SmsMessage": "Your Kikao code is {####}. It confirms this phone for Kikao's SMS."},
                # threat protection (compromised credentials, risky sign-ins) needs the Plus tier
                "UserPoolTier": {"Fn::If": ["HasThreatProtection", "PLUS", "ESSENTIALS"]},
                "UserPoolAddOns": {"AdvancedSecurityMode": {"Ref": "ThreatProtection"}},
                "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": False, "InviteMessageTemplate": {
                    "EmailSubject": "Your Kikao account",
                    "EmailMessage": "You have been added to your practice on Kikao. Sign in with {username} and the temporary password {####}, then set up two-step sign-in with an authenticator app."}},
                "DeletionProtection": "ACTIVE",
            },
        },
        # the role Cognito takes to text phone codes: SNS Publish to phone numbers only (an SMS
        # has no ARN, so what it may publish to is everything but a topic)
        "CognitoSmsRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "cognito-idp.amazonaws.com"}, "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": {"Fn::Sub": "${AWS::StackName}-cognito-sms"},
                                                   "aws:SourceAccount": {"Ref": "AWS::AccountId"}}}}]},
                "Policies": [{"PolicyName": "send-phone-codes", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Action": "sns:Publish", "NotResource": "arn:aws:sns:*:*:*"}]}}],
            },
        },
        "ClientsGroup": {"Type": "AWS::Cognito::UserPoolGroup", "Properties": {"GroupName": "clients", "UserPoolId": {"Ref": "UserPool"},
                                                                               "Description": "People who book sessions"}},
        "PsychologistsGroup": {"Type": "AWS::Cognito::UserPoolGroup", "Properties": {"GroupName": "psychologists", "UserPoolId": {"Ref": "UserPool"},
                                                                                     "Description": "Psychologists of the practice"}},
        "PracticeAdminsGroup": {"Type": "AWS::Cognito::UserPoolGroup", "Properties": {"GroupName": "practice_admins", "UserPoolId": {"Ref": "UserPool"},
                                                                                      "Description": "Invite and deactivate psychologists"}},
        "UserPoolDomain": {"Type": "AWS::Cognito::UserPoolDomain", "Properties": {"Domain": {"Ref": "CognitoDomainPrefix"}, "UserPoolId": {"Ref": "UserPool"}}},
        "UserPoolClient": {
            "Type": "AWS::Cognito::UserPoolClient",
            "Properties": {
                "UserPoolId": {"Ref": "UserPool"},
                "ClientName": "dashboards",
                "GenerateSecret": False,
                "AllowedOAuthFlowsUserPoolClient": True,
                "AllowedOAuthFlows": ["code"],
                # aws.cognito.signin.user.admin: the page's access token may call Cognito's own
                # user API for the signed-in person (setting up their authenticator app)
                "AllowedOAuthScopes": ["openid", "email", "phone", "profile", "aws.cognito.signin.user.admin"],
                "SupportedIdentityProviders": ["COGNITO"],
                "CallbackURLs": [{"Fn::Sub": "https://${SiteDistribution.DomainName}/"}],
                "LogoutURLs": [{"Fn::Sub": "https://${SiteDistribution.DomainName}/"}],
                "PreventUserExistenceErrors": "ENABLED",
                "EnableTokenRevocation": True,
                # an hour: a deactivated person's last token dies within it (their refresh tokens
                # are revoked at once), and the page refreshes quietly
                "IdTokenValidity": 1, "AccessTokenValidity": 1, "RefreshTokenValidity": 30,
                # people change their own name and phone, never a *_verified flag or anything
                # Kikao decides. Not their email: it is how a password is reset, so a stolen
                # session that could change it could take the account for good (the practice
                # administrator changes it)
                "ReadAttributes": ["email", "email_verified", "name", "phone_number", "phone_number_verified"],
                "WriteAttributes": ["name", "phone_number"],
                "ExplicitAuthFlows": ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"],
                "TokenValidityUnits": {"IdToken": "hours", "AccessToken": "hours", "RefreshToken": "days"},
            },
        },
        "SiteBucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
                "VersioningConfiguration": {"Status": "Enabled"},
                "LifecycleConfiguration": {"Rules": [{"Id": "old-versions", "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}]},
            },
        },
        "SiteBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {"Bucket": {"Ref": "SiteBucket"}, "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Sid": "CloudFrontReads", "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
                 "Action": "s3:GetObject", "Resource": {"Fn::Sub": "${SiteBucket.Arn}/*"},
                 "Condition": {"StringEquals": {"AWS:SourceArn": {"Fn::Sub": "arn:aws:cloudfront::${AWS::AccountId}:distribution/${SiteDistribution}"}}}},
                {"Sid": "HttpsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": [{"Fn::GetAtt": ["SiteBucket", "Arn"]}, {"Fn::Sub": "${SiteBucket.Arn}/*"}],
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}},
        },
        "SiteOriginAccess": {"Type": "AWS::CloudFront::OriginAccessControl", "Properties": {"OriginAccessControlConfig": {
            "Name": {"Fn::Sub": "${AWS::StackName}-site"}, "OriginAccessControlOriginType": "s3",
            "SigningBehavior": "always", "SigningProtocol": "sigv4"}}},
        "SiteHeaders": {"Type": "AWS::CloudFront::ResponseHeadersPolicy", "Properties": {"ResponseHeadersPolicyConfig": {
            "Name": {"Fn::Sub": "${AWS::StackName}-security-headers"},
            "SecurityHeadersConfig": {
                "ContentSecurityPolicy": {"ContentSecurityPolicy": {"Fn::Sub": CSP}, "Override": True},
                "StrictTransportSecurity": {"AccessControlMaxAgeSec": 63072000, "IncludeSubdomains": True, "Preload": True, "Override": True},
                "FrameOptions": {"FrameOption": "DENY", "Override": True},
                "ContentTypeOptions": {"Override": True},
                "ReferrerPolicy": {"ReferrerPolicy": "no-referrer", "Override": True},
            }}}},
        "SiteDistribution": {"Type": "AWS::CloudFront::Distribution", "Properties": {"DistributionConfig": {
            "Enabled": True,
            "Comment": "Kikao dashboards",
            "DefaultRootObject": "index.html",
            "HttpVersion": "http2and3",
            "PriceClass": "PriceClass_All",
            "Origins": [{"Id": "site", "DomainName": {"Fn::GetAtt": ["SiteBucket", "RegionalDomainName"]},
                         "OriginAccessControlId": {"Ref": "SiteOriginAccess"}, "S3OriginConfig": {"OriginAccessIdentity": ""}}],
            "DefaultCacheBehavior": {"TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https",
                                     "AllowedMethods": ["GET", "HEAD"], "Compress": True,
                                     "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
                                     "ResponseHeadersPolicyId": {"Ref": "SiteHeaders"}},
            "ViewerCertificate": {"CloudFrontDefaultCertificate": True}}}},
    })

    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": "Kikao: therapy session booking with M-Pesa payment proof. Generated by infra/build_template.py; do not edit by hand.",
        "Parameters": {
            "Stage": {"Type": "String", "Default": "prod", "AllowedPattern": "^[a-z0-9-]{1,12}$", "Description": "Names the proof bucket"},
            "CognitoDomainPrefix": {"Type": "String", "AllowedPattern": "^[a-z0-9-]{3,63}$",
                                    "Description": "Prefix of the hosted sign-in page: <prefix>.auth.<region>.amazoncognito.com"},
            "EmailDomain": {"Type": "String", "AllowedPattern": "^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$",
                            "Description": "The practice's domain; email comes from no-reply@<domain> through SES"},
            "SmsSenderId": {"Type": "String", "Default": "Kikao", "AllowedPattern": "^[A-Za-z0-9]{0,11}$",
                            "Description": "Alphanumeric SMS sender id (register it with the Kenyan networks), empty for none"},
            "ThreatProtection": {"Type": "String", "Default": "ENFORCED", "AllowedValues": ["ENFORCED", "AUDIT", "OFF"],
                                 "Description": "Cognito threat protection (blocks sign-ins with leaked passwords and risky sign-ins; Plus tier, about USD 0.02 a monthly active user). OFF where the region does not offer it"},
            "MeetingLinkBase": {"Type": "String", "Default": "https://meet.jit.si/kikao-", "Description": "Meeting links are this plus 244 random bits"},
            "ProofRetentionDays": {"Type": "Number", "Default": 180, "MinValue": 30, "MaxValue": 730,
                                   "Description": "Days a payment screenshot is kept after upload: long enough to settle a disputed payment (kikao_core::retention::PROOF_DAYS); the privacy notice says it"},
            "PrivacyContact": {"Type": "String", "Default": "",
                               "Description": "Where people write about their data, named in the privacy notice (empty: privacy@<EmailDomain>)"},
            "AlarmEmail": {"Type": "String", "Default": "", "Description": "Who hears about alarms (empty: no email)"},
            "LogRetentionDays": {"Type": "Number", "Default": 30, "AllowedValues": [7, 14, 30, 60, 90, 180, 365]},
            "ApiRateLimit": {"Type": "Number", "Default": 50, "Description": "Steady requests per second, whole API"},
            "ApiBurstLimit": {"Type": "Number", "Default": 100},
            "DarajaEnvironment": {"Type": "String", "Default": "production", "AllowedValues": ["production", "sandbox"],
                                  "Description": "Which Daraja the payment requests go to"},
            "PublicApiUrl": {"Type": "String", "Default": "", "AllowedPattern": "^(https://[a-z0-9.-]+)?$",
                             "Description": "The API's custom domain, as https://api.yourpractice.co.ke, for M-Pesa's callbacks (Safaricom refuses the execute-api address); empty: the execute-api address"},
            "MpesaSourceIps": {"Type": "String", "Default": "",
                               "Description": "Comma-separated addresses M-Pesa's callbacks may come from (empty: any; the secret path authenticates them either way)"},
        },
        "Conditions": {"HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]},
                       "HasPrivacyContact": {"Fn::Not": [{"Fn::Equals": [{"Ref": "PrivacyContact"}, ""]}]},
                       "HasThreatProtection": {"Fn::Not": [{"Fn::Equals": [{"Ref": "ThreatProtection"}, "OFF"]}]},
                       "DarajaSandbox": {"Fn::Equals": [{"Ref": "DarajaEnvironment"}, "sandbox"]},
                       "HasPublicApiUrl": {"Fn::Not": [{"Fn::Equals": [{"Ref": "PublicApiUrl"}, ""]}]}},
        "Resources": resources,
        "Outputs": {
            "ApiUrl": {"Value": {"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.amazonaws.com"}},
            "SiteUrl": {"Value": SITE_ORIGIN},
            "SiteBucketName": {"Value": {"Ref": "SiteBucket"}},
            "SiteDistributionId": {"Value": {"Ref": "SiteDistribution"}},
            "UserPoolId": {"Value": {"Ref": "UserPool"}},
            "UserPoolClientId": {"Value": {"Ref": "UserPoolClient"}},
            "CognitoDomain": {"Value": {"Fn::Sub": "${CognitoDomainPrefix}.auth.${AWS::Region}.amazoncognito.com"}},
            "TableName": {"Value": {"Ref": "Table"}},
            "ProofBucketName": {"Value": {"Ref": "ProofBucket"}},
            "DeadLetterQueueUrl": {"Value": {"Ref": "NotifyDeadLetters"}},
            "CallbackBaseUrl": {"Description": "Where M-Pesa's callbacks are sent (PublicApiUrl, else the execute-api address)",
                                "Value": CALLBACK_BASE},
            "MpesaCallbackKeySecret": {"Description": "infra/mpesa-callback-urls reads it to print a Till's or Paybill's callback URLs",
                                       "Value": {"Ref": "MpesaCallbackKey"}},
            **{f"EmailDkimRecord{i}": {"Description": "A CNAME to add to the domain's DNS so SES can send from it",
                                       "Value": {"Fn::Sub": f"${{EmailIdentity.DkimDNSTokenName{i}}} CNAME ${{EmailIdentity.DkimDNSTokenValue{i}}}"}}
               for i in (1, 2, 3)},
        },
    }


def yaml(value, indent=0):
    """Block YAML for plain data; strings are JSON-quoted, which YAML reads as they are."""
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return " {}"
        out = []
        for k, v in value.items():
            key = k if re.fullmatch(r"[A-Za-z0-9_:.-]+", k) else json.dumps(k)
            if isinstance(v, (dict, list)) and v:
                out.append(f"\n{pad}{key}:{yaml(v, indent + 1)}")
            else:
                out.append(f"\n{pad}{key}:{yaml(v, indent + 1)}")
        return "".join(out)
    if isinstance(value, list):
        if not value:
            return " []"
        out = []
        for v in value:
            if isinstance(v, dict) and v:
                inner = yaml(v, indent + 1).lstrip("\n")
                out.append(f"\n{pad}- {inner.lstrip()}")
            else:
                out.append(f"\n{pad}-{yaml(v, indent + 1)}")
        return "".join(out)
    if isinstance(value, bool):
        return " true" if value else " false"
    if isinstance(value, (int, float)):
        return f" {value}"
    return f" {json.dumps(value)}"


def function_names():
    return sorted([name for _, _, _, name in ROUTES] + ["notify", "remind", "expire", "confirm-sign-up", "add-token-claims"])


def render_makefile():
    # fat LTO where the plain build tops or nearly tops 3 MB zipped (tests/bench measures every
    # function): submit-payment (the change pipeline and the signed S3 HEAD, 3.13 MB plain,
    # 2.31 MB fat), notify and remind (SNS and SES), and the three that judge a time by a
    # psychologist's hours in their zone, which links the time-zone database (book-session
    # 3.17 MB plain, propose-reschedule 3.17 MB, psychologist-availability 3.13 MB). Every other
    # function is 2.87 to 2.97 MB plain, and fat LTO would cost each a long link of its own.
    # The two administrator functions that call Cognito are 3.15 MB plain (the user-pool client
    # on top of the profile and booking code) and 2.44 MB fat.
    # The M-Pesa callbacks carry the Secrets Manager client on top of the change pipeline, and the
    # payment request and its callback an HTTPS client for Daraja too. With the M-Pesa work of
    # 2026-12-06 three more passed 3 MB plain (measured: approve-session 3.03, attach-payment
    # 3.03, update-me 3.04 MB; list-unmatched-payments 2.98) and build with fat LTO as well.
    with_lto = ["approve-session", "attach-payment", "book-session", "deactivate-psychologist",
                "invite-psychologist", "mpesa-c2b-confirmation", "mpesa-c2b-validation", "mpesa-stk-callback",
                "notify", "pay-by-mpesa", "propose-reschedule", "psychologist-availability", "remind",
                "submit-payment", "update-me"]
    # the statement reader unwinds (pdf-extract can panic on a malformed PDF; Cargo.toml)
    with_unwind = ["check-statement"]
    rest = [n for n in function_names() if n not in with_lto + with_unwind]

    def packages(var, names):
        return [f"{var} = \\"] + [f"\t-p {n} \\" for n in names[:-1]] + [f"\t-p {names[-1]}", ""]

    lines = [
        "# Generated by infra/build_template.py; edit that, not this.",
        "# `sam build` runs `make build-<LogicalId>` here from the repository root with ARTIFACTS_DIR",
        "# set, once per function. Each target depends on `all`, two cargo-lambda builds of every",
        "# function: the first make target builds them all (the shared crates once per profile, the",
        "# links on both cores) and the rest find cargo's work done; then each copies its own",
        "# bootstrap. The largest functions use the release-lto profile, the statement reader",
        "# release-unwind (Cargo.toml).",
        "# Needs cargo-lambda and zig on PATH (README, Deploying).",
        "",
        "CARGO_LAMBDA ?= cargo lambda build --arm64 --locked --disable-optimizations",
        "TARGET_DIR = $(or $(CARGO_TARGET_DIR),target)",
        "",
    ]
    lines += packages("PACKAGES", rest) + packages("PACKAGES_LTO", with_lto) + packages("PACKAGES_UNWIND", with_unwind)
    lines += [".PHONY: all " + " ".join(f"build-{logical(n)}" for n in function_names()), "",
              "all:", "\t$(CARGO_LAMBDA) --release $(PACKAGES)", "\t$(CARGO_LAMBDA) --profile release-lto $(PACKAGES_LTO)",
              "\t$(CARGO_LAMBDA) --profile release-unwind $(PACKAGES_UNWIND)", ""]
    for n in function_names():
        lines += [f"build-{logical(n)}: all", f"\tcp $(TARGET_DIR)/lambda/{n}/bootstrap $(ARTIFACTS_DIR)/bootstrap", ""]
    return "\n".join(lines)


def render():
    return "# Generated by infra/build_template.py from the route table; edit that, not this.\n" + yaml(build()).lstrip("\n") + "\n"


if __name__ == "__main__":
    outputs = {OUT: render(), MAKEFILE: render_makefile()}
    if "--check" in sys.argv:
        for path, text in outputs.items():
            if not path.exists() or path.read_text() != text:
                sys.exit(f"{path.relative_to(ROOT)} is not what infra/build_template.py writes: run it and commit the result")
        print(f"infra/template.yaml and infra/lambda/Makefile are up to date ({len(ROUTES)} routes)")
    else:
        for path, text in outputs.items():
            path.parent.mkdir(exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
