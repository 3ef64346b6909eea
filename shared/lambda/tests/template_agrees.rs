//! The SAM template and the code agree: every function crate is deployed, every route of the
//! route table is served by exactly one function (its own crate), every function is given
//! exactly the variables its code reads, the table has the indexes the store queries, and the
//! IAM policies grant no wildcard action and no "*" resource, no Scan, and no writes to the read-only endpoints.

use kikao_aws::dynamodb::INDEXES;
use kikao_http::routes::ROUTES;
use std::collections::BTreeSet;
use std::path::Path;
use yaml_rust2::{Yaml, YamlLoader};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .parent()
        .unwrap()
}

fn template() -> Yaml {
    let text = std::fs::read_to_string(root().join("infra/template.yaml")).unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

fn functions(t: &Yaml) -> Vec<(String, Yaml)> {
    t["Resources"]
        .as_hash()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(k, r)| (k.as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

/// The crate a function resource builds, from its CodeUri.
fn crate_of(f: &Yaml) -> String {
    f["Properties"]["CodeUri"]
        .as_str()
        .unwrap()
        .strip_prefix("../functions/")
        .unwrap()
        .to_owned()
}

fn strings(y: &Yaml) -> Vec<String> {
    match y {
        Yaml::String(s) => vec![s.clone()],
        Yaml::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => vec![],
    }
}

#[test]
fn every_function_crate_is_deployed_arm64_on_al2023() {
    let t = template();
    let deployed: BTreeSet<String> = functions(&t).iter().map(|(_, f)| crate_of(f)).collect();
    let crates: BTreeSet<String> = std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(deployed, crates);
    for (name, f) in functions(&t) {
        let p = &f["Properties"];
        assert_eq!(p["Runtime"].as_str(), Some("provided.al2023"), "{name}");
        assert_eq!(strings(&p["Architectures"]), ["arm64"], "{name}");
        assert_eq!(p["Handler"].as_str(), Some("bootstrap"), "{name}");
        assert_eq!(
            f["Metadata"]["BuildMethod"].as_str(),
            Some("makefile"),
            "{name}"
        );
        assert_eq!(
            f["Metadata"]["ContextPath"].as_str(),
            Some("lambda"),
            "{name}"
        );
        assert_eq!(
            f["Metadata"]["WorkingDirectory"].as_str(),
            Some(".."),
            "{name}"
        );
    }
}

/// `sam build` runs `make build-<LogicalId>` for each function: that target must exist, build
/// every function crate, and copy this function's own crate's bootstrap, not another's.
#[test]
fn the_makefile_builds_every_function_and_copies_its_own_bootstrap() {
    let t = template();
    let makefile = std::fs::read_to_string(root().join("infra/lambda/Makefile")).unwrap();
    for (name, f) in functions(&t) {
        let krate = crate_of(&f);
        let head = format!("build-{name}: all\n");
        let at = makefile
            .find(&head)
            .unwrap_or_else(|| panic!("no make target for {name}"));
        let recipe = makefile[at + head.len()..].lines().next().unwrap();
        assert_eq!(
            recipe,
            format!("\tcp $(TARGET_DIR)/lambda/{krate}/bootstrap $(ARTIFACTS_DIR)/bootstrap"),
            "{name}"
        );
        assert!(
            makefile.contains(&format!("\t-p {krate}")),
            "{krate} is not in the cargo build"
        );
    }
}

#[test]
fn every_route_has_exactly_one_function_and_it_is_its_own_crate() {
    let t = template();
    for route in ROUTES {
        let serving: Vec<String> = functions(&t)
            .iter()
            .filter(|(_, f)| {
                f["Properties"]["Events"]
                    .as_hash()
                    .into_iter()
                    .flatten()
                    .any(|(_, e)| {
                        e["Type"].as_str() == Some("HttpApi")
                            && e["Properties"]["Method"].as_str() == Some(route.method)
                            && e["Properties"]["Path"].as_str() == Some(route.path)
                    })
            })
            .map(|(_, f)| crate_of(f))
            .collect();
        assert_eq!(serving, [route.function], "{} {}", route.method, route.path);
    }
    let http_events = functions(&t)
        .iter()
        .flat_map(|(_, f)| {
            f["Properties"]["Events"]
                .as_hash()
                .cloned()
                .into_iter()
                .flatten()
        })
        .filter(|(_, e)| e["Type"].as_str() == Some("HttpApi"))
        .count();
    assert_eq!(
        http_events,
        ROUTES.len(),
        "no route in the template that the code does not have"
    );
}

#[test]
fn every_function_gets_exactly_the_variables_its_code_reads() {
    let t = template();
    for (name, f) in functions(&t) {
        let krate = crate_of(&f);
        let given: BTreeSet<String> = f["Properties"]["Environment"]["Variables"]
            .as_hash()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect();
        let says = main_says(&krate);
        let proofs = matches!(says, Some("proofs" | "proofs_and_accounts"));
        let read: BTreeSet<String> = kikao_lambda::env::read_by(&krate, says)
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(given, read, "{name}");
        let role = &t["Resources"][format!("{name}Role").as_str()];
        let s3 = role["Properties"]["Policies"]
            .as_vec()
            .unwrap()
            .iter()
            .flat_map(|p| p["PolicyDocument"]["Statement"].as_vec().unwrap().clone())
            .any(|st| strings(&st["Action"]).iter().any(|a| a.starts_with("s3:")));
        assert_eq!(
            s3, proofs,
            "{name}: may touch S3 exactly when its main says `proofs`"
        );
    }
}

/// What a function's `main` says it builds beyond the table: the S3 proof store
/// (`http_function!(name, proofs)`), the user pool (`http_function!(name, accounts)`), or both
/// (`proofs_and_accounts`, the erasure), or the M-Pesa callback key (`callback_key`).
fn main_says(krate: &str) -> Option<&'static str> {
    let main =
        std::fs::read_to_string(root().join("functions").join(krate).join("src/main.rs")).unwrap();
    [
        "proofs_and_accounts",
        "proofs",
        "accounts",
        "callback_key",
        "daraja_query",
        "daraja",
    ]
    .into_iter()
    .find(|w| main.contains(&format!(", {w});")))
}

#[test]
fn the_table_has_the_indexes_the_store_queries() {
    let t = template();
    let gsis = t["Resources"]["Table"]["Properties"]["GlobalSecondaryIndexes"]
        .as_vec()
        .unwrap();
    let declared: BTreeSet<(String, String, String)> = gsis
        .iter()
        .map(|g| {
            let ks = g["KeySchema"].as_vec().unwrap();
            (
                g["IndexName"].as_str().unwrap().to_owned(),
                ks[0]["AttributeName"].as_str().unwrap().to_owned(),
                ks[1]["AttributeName"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let used: BTreeSet<(String, String, String)> = INDEXES
        .iter()
        .map(|(n, p, s)| (n.to_string(), p.to_string(), s.to_string()))
        .collect();
    assert_eq!(declared, used);
}

fn statements(t: &Yaml, function: &str) -> Vec<Yaml> {
    let role = t["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
        .as_str()
        .unwrap()
        .to_owned();
    t["Resources"][role.as_str()]["Properties"]["Policies"]
        .as_vec()
        .unwrap()
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_vec().unwrap().clone())
        .collect()
}

#[test]
fn least_privilege_no_wildcards_no_scan_read_only_endpoints_cannot_write() {
    let t = template();
    let writes = [
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "s3:PutObject",
        "s3:DeleteObject",
    ];
    let read_only = [
        "list-psychologists",
        "list-sessions",
        "list-pending-approval",
        "get-session",
        "list-changes",
        "get-payment-proof",
        "parse-mpesa",
        "check-statement",
        "list-unmatched-payments",
        "mpesa-c2b-validation",
        "get-checkout",
    ];
    for (name, f) in functions(&t) {
        let krate = crate_of(&f);
        for s in statements(&t, &name) {
            let actions = strings(&s["Action"]);
            assert!(s["Resource"].as_str() != Some("*"), "{name}: Resource *");
            assert!(
                actions.iter().all(|a| !a.contains('*')),
                "{name}: {actions:?}"
            );
            assert!(
                !actions.iter().any(|a| a == "dynamodb:Scan"),
                "{name} may Scan"
            );
            // a read-only endpoint writes nothing, except that a screenshot's view is put in the
            // audit trail and a late payment request's answer on the request: only there, by
            // the partition key's prefix, each by its own function
            let only = |prefix: &str| {
                s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                    .as_vec()
                    .is_some_and(|k| k.len() == 1 && k[0].as_str() == Some(prefix))
                    && actions == ["dynamodb:PutItem"]
            };
            let scoped = (only("AUDIT#*") && krate == "get-payment-proof")
                || (only("CHECKOUT#*") && krate == "get-checkout");
            if read_only.contains(&krate.as_str()) && !scoped {
                assert!(
                    !actions.iter().any(|a| writes.contains(&a.as_str())),
                    "{name} is read-only: {actions:?}"
                );
            }
        }
    }
    // the screenshot link's function can write its audit entries, and only those
    let proof = statements(&t, "GetPaymentProof");
    assert!(proof.iter().any(|s| {
        strings(&s["Action"]) == ["dynamodb:PutItem"]
            && s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"][0].as_str()
                == Some("AUDIT#*")
    }));
    let checkout = statements(&t, "GetCheckout");
    assert!(checkout.iter().any(|s| {
        strings(&s["Action"]) == ["dynamodb:PutItem"]
            && s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"][0].as_str()
                == Some("CHECKOUT#*")
    }));
    // and the role of a read-only endpoint does grant what it reads
    let list = statements(&t, "ListSessions");
    assert!(list
        .iter()
        .any(|s| strings(&s["Action"]).contains(&"dynamodb:Query".to_owned())));
}

#[test]
fn each_http_function_runs_its_own_routes_handler() {
    for route in ROUTES {
        let main = std::fs::read_to_string(
            root()
                .join("functions")
                .join(route.function)
                .join("src/main.rs"),
        )
        .unwrap();
        let call = format!("kikao_lambda::http_function!({}", route.handler_name);
        assert!(
            main.contains(&format!("{call});"))
                || main.contains(&format!("{call}, proofs);"))
                || main.contains(&format!("{call}, accounts);"))
                || main.contains(&format!("{call}, proofs_and_accounts);"))
                || main.contains(&format!("{call}, callback_key);"))
                || main.contains(&format!("{call}, daraja);"))
                || main.contains(&format!("{call}, daraja_query);")),
            "functions/{}/src/main.rs should be `{call}`",
            route.function
        );
    }
}

/// Every route sits behind the Cognito JWT authorizer but M-Pesa's callbacks (the public
/// prefix), which opt out and only they; and the browser may send every header the OpenAPI
/// document takes and read every header it returns.
#[test]
fn every_route_is_authorized_and_cors_carries_the_documented_headers() {
    let t = template();
    let api = &t["Resources"]["HttpApi"]["Properties"];
    assert_eq!(api["Auth"]["DefaultAuthorizer"].as_str(), Some("Cognito"));
    let jwt = &api["Auth"]["Authorizers"]["Cognito"]["JwtConfiguration"];
    assert!(!jwt["issuer"].is_badvalue() && !jwt["audience"].is_badvalue());
    for (name, f) in functions(&t) {
        for (_, e) in f["Properties"]["Events"].as_hash().into_iter().flatten() {
            if e["Type"].as_str() == Some("HttpApi") {
                let public = e["Properties"]["Path"]
                    .as_str()
                    .unwrap()
                    .starts_with(kikao_http::routes::PUBLIC_PREFIX);
                if public {
                    assert_eq!(
                        e["Properties"]["Auth"]["Authorizer"].as_str(),
                        Some("NONE"),
                        "{name}"
                    );
                } else {
                    assert!(
                        e["Properties"]["Auth"].is_badvalue(),
                        "{name} overrides the authorizer"
                    );
                }
            }
        }
    }

    let doc = serde_json::to_value(kikao_http::openapi::document()).unwrap();
    let mut takes = BTreeSet::from(["authorization".to_owned(), "content-type".to_owned()]);
    let mut returns = BTreeSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "header" {
                    takes.insert(p["name"].as_str().unwrap().to_ascii_lowercase());
                }
            }
            for res in op["responses"].as_object().unwrap().values() {
                for h in res["headers"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k)
                {
                    returns.insert(h.to_ascii_lowercase());
                }
            }
        }
    }
    let cors = &api["CorsConfiguration"];
    let allowed: BTreeSet<String> = strings(&cors["AllowHeaders"]).into_iter().collect();
    let exposed: BTreeSet<String> = strings(&cors["ExposeHeaders"]).into_iter().collect();
    assert!(
        takes.is_subset(&allowed),
        "CORS must allow {takes:?}, allows {allowed:?}"
    );
    assert!(
        returns.is_subset(&exposed),
        "CORS must expose {returns:?}, exposes {exposed:?}"
    );
    assert!(takes.contains("if-match") && returns.contains("retry-after"));
}

/// The user pool as the accounts issue asks: the three groups the code names, TOTP offered and
/// the pre-token-generation trigger (version 1, the shape `kikao_aws::cognito` reads) wired to
/// its function, threat protection, email changes verified first, phone codes texted through a
/// role that may send SMS and nothing else, and an app client whose
/// tokens live an hour (refresh 30 days, revocable), which writes only the name and phone, and
/// whose access token may set up an authenticator app.
#[test]
fn the_pool_and_its_client_are_set_up_for_accounts() {
    let t = template();
    let r = &t["Resources"];
    let groups: BTreeSet<String> = r
        .as_hash()
        .unwrap()
        .values()
        .filter(|x| x["Type"].as_str() == Some("AWS::Cognito::UserPoolGroup"))
        .map(|g| g["Properties"]["GroupName"].as_str().unwrap().to_owned())
        .collect();
    let expected: BTreeSet<String> = [
        kikao_http::auth::CLIENTS_GROUP,
        kikao_http::auth::PSYCHOLOGISTS_GROUP,
        kikao_http::auth::PRACTICE_ADMINS_GROUP,
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(groups, expected);

    let pool = &r["UserPool"]["Properties"];
    assert_eq!(pool["MfaConfiguration"].as_str(), Some("OPTIONAL"));
    assert_eq!(strings(&pool["EnabledMfas"]), ["SOFTWARE_TOKEN_MFA"]);
    let pre = &pool["LambdaConfig"]["PreTokenGenerationConfig"];
    assert_eq!(pre["LambdaVersion"].as_str(), Some("V1_0"));
    assert_eq!(
        strings(&pre["LambdaArn"]["Fn::GetAtt"]),
        ["AddTokenClaims", "Arn"]
    );
    assert_eq!(
        strings(&pool["LambdaConfig"]["PostConfirmation"]["Fn::GetAtt"]),
        ["ConfirmSignUp", "Arn"]
    );
    assert_eq!(
        pool["UserPoolAddOns"]["AdvancedSecurityMode"]["Ref"].as_str(),
        Some("ThreatProtection")
    );
    assert_eq!(
        t["Parameters"]["ThreatProtection"]["Default"].as_str(),
        Some("ENFORCED")
    );
    assert_eq!(
        strings(&pool["UserAttributeUpdateSettings"]["AttributesRequireVerificationBeforeUpdate"]),
        ["email"]
    );
    // Cognito texts phone codes as a role only it may take, for this stack, and which may
    // publish to phone numbers but to no topic
    let sms = &pool["SmsConfiguration"];
    assert_eq!(
        strings(&sms["SnsCallerArn"]["Fn::GetAtt"]),
        ["CognitoSmsRole", "Arn"]
    );
    assert!(pool["VerificationMessageTemplate"]["SmsMessage"]
        .as_str()
        .unwrap()
        .contains("{####}"));
    let role = &r["CognitoSmsRole"]["Properties"];
    let trust = &role["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(
        trust["Principal"]["Service"].as_str(),
        Some("cognito-idp.amazonaws.com")
    );
    assert_eq!(
        trust["Condition"]["StringEquals"]["sts:ExternalId"],
        sms["ExternalId"]
    );
    let policies = role["Policies"].as_vec().unwrap();
    assert_eq!(policies.len(), 1);
    let allowed = policies[0]["PolicyDocument"]["Statement"].as_vec().unwrap();
    assert_eq!(allowed.len(), 1);
    assert_eq!(
        (
            allowed[0]["Effect"].as_str(),
            allowed[0]["Action"].as_str(),
            allowed[0]["NotResource"].as_str(),
            allowed[0]["Resource"].is_badvalue()
        ),
        (
            Some("Allow"),
            Some("sns:Publish"),
            Some("arn:aws:sns:*:*:*"),
            true
        )
    );
    for trigger in ["AddTokenClaimsPermission", "ConfirmSignUpPermission"] {
        let p = &r[trigger]["Properties"];
        assert_eq!(p["Principal"].as_str(), Some("cognito-idp.amazonaws.com"));
        assert_eq!(
            strings(&p["SourceArn"]["Fn::GetAtt"]),
            ["UserPool", "Arn"],
            "{trigger}: only this pool"
        );
    }

    let client = &r["UserPoolClient"]["Properties"];
    assert_eq!(
        (
            client["IdTokenValidity"].as_i64(),
            client["AccessTokenValidity"].as_i64(),
            client["RefreshTokenValidity"].as_i64()
        ),
        (Some(1), Some(1), Some(30))
    );
    assert_eq!(
        client["TokenValidityUnits"]["IdToken"].as_str(),
        Some("hours")
    );
    assert_eq!(
        client["TokenValidityUnits"]["AccessToken"].as_str(),
        Some("hours")
    );
    assert_eq!(
        client["TokenValidityUnits"]["RefreshToken"].as_str(),
        Some("days")
    );
    assert_eq!(client["EnableTokenRevocation"].as_bool(), Some(true));
    assert_eq!(
        strings(&client["WriteAttributes"]),
        ["name", "phone_number"]
    );
    assert!(strings(&client["AllowedOAuthScopes"])
        .contains(&"aws.cognito.signin.user.admin".to_owned()));
}

/// Only the functions that call the user pool may: the two administrator functions whose `main`
/// says `accounts` and the erasure (each its own actions, on this pool), and the two triggers.
#[test]
fn only_the_functions_that_call_cognito_may() {
    let t = template();
    for (name, f) in functions(&t) {
        let krate = crate_of(&f);
        let actions: BTreeSet<String> = statements(&t, &name)
            .iter()
            .flat_map(|st| strings(&st["Action"]))
            .filter(|a| a.starts_with("cognito-idp:"))
            .collect();
        let expected: &[&str] = match krate.as_str() {
            "invite-psychologist" => &[
                "cognito-idp:AdminAddUserToGroup",
                "cognito-idp:AdminCreateUser",
                "cognito-idp:AdminGetUser",
            ],
            "deactivate-psychologist" => &[
                "cognito-idp:AdminDisableUser",
                "cognito-idp:AdminUserGlobalSignOut",
            ],
            "erase-me" => &["cognito-idp:AdminDeleteUser"],
            "confirm-sign-up" => &["cognito-idp:AdminAddUserToGroup"],
            "add-token-claims" => &["cognito-idp:AdminGetUser"],
            _ => &[],
        };
        let expected: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
        assert_eq!(actions, expected, "{krate}");
        assert_eq!(
            matches!(main_says(&krate), Some("accounts" | "proofs_and_accounts")),
            ["invite-psychologist", "deactivate-psychologist", "erase-me"]
                .contains(&krate.as_str()),
            "{krate}"
        );
    }
}

/// The M-Pesa callback key is readable by the functions that check or make callback paths and
/// no other, by its own reference; the shortcodes' Daraja apps only by the three that call Daraja
/// (the payment request, its callback, and reading one whose callback is late), under the
/// stack's own prefix.
#[test]
fn only_the_callbacks_may_read_the_callback_key_and_only_it() {
    let t = template();
    assert_eq!(
        t["Resources"]["MpesaCallbackKey"]["Type"].as_str(),
        Some("AWS::SecretsManager::Secret")
    );
    let mut readers = BTreeSet::new();
    let mut daraja = BTreeSet::new();
    for (name, f) in functions(&t) {
        for st in statements(&t, &name) {
            let actions = strings(&st["Action"]);
            if actions.iter().any(|a| a.starts_with("secretsmanager:")) {
                assert_eq!(actions, ["secretsmanager:GetSecretValue"], "{name}");
                if st["Resource"]["Ref"].as_str() == Some("MpesaCallbackKey") {
                    readers.insert(crate_of(&f));
                } else {
                    assert_eq!(
                        st["Resource"]["Fn::Sub"].as_str(),
                        Some("arn:aws:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/daraja/*"),
                        "{name}"
                    );
                    daraja.insert(crate_of(&f));
                }
            }
        }
    }
    let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        readers,
        set(&[
            "mpesa-c2b-confirmation",
            "mpesa-c2b-validation",
            "mpesa-stk-callback",
            "pay-by-mpesa"
        ])
    );
    assert_eq!(
        daraja,
        set(&["get-checkout", "mpesa-stk-callback", "pay-by-mpesa"])
    );
}

/// Payment screenshots are deleted by the bucket's lifecycle rule: every object under
/// `proofs/`, current and noncurrent, after `ProofRetentionDays`, whose default is the period
/// the code and the privacy notice state (`retention::PROOF_DAYS`), and which the notice's
/// function is given to say.
#[test]
fn screenshots_expire_by_the_bucket_rule_at_the_stated_period() {
    let t = template();
    let rules = t["Resources"]["ProofBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
        .as_vec()
        .unwrap();
    let rule = rules
        .iter()
        .find(|r| r["Prefix"].as_str() == Some("proofs/"))
        .expect("a rule for proofs/");
    assert_eq!(rule["Status"].as_str(), Some("Enabled"));
    assert_eq!(
        rule["ExpirationInDays"]["Ref"].as_str(),
        Some("ProofRetentionDays")
    );
    assert_eq!(
        rule["NoncurrentVersionExpiration"]["NoncurrentDays"]["Ref"].as_str(),
        Some("ProofRetentionDays")
    );
    let default = t["Parameters"]["ProofRetentionDays"]["Default"]
        .as_i64()
        .unwrap();
    assert_eq!(default, i64::from(kikao_core::retention::PROOF_DAYS));
    let notice = functions(&t)
        .into_iter()
        .find(|(_, f)| crate_of(f) == "get-privacy-notice")
        .unwrap()
        .1;
    assert_eq!(
        notice["Properties"]["Environment"]["Variables"]["KIKAO_PROOF_RETENTION_DAYS"]["Ref"]
            .as_str(),
        Some("ProofRetentionDays")
    );
}
