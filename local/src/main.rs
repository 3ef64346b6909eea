//! `cargo run -p local`: Kikao on one machine, on the embedded default (or `--aws`).

use local::{default_static_dir, router, BackendChoice, Local, Options, Seed};
use std::net::SocketAddr;
use std::path::PathBuf;

const USAGE: &str =
    "usage: cargo run -p local -- [--port N] [--data-dir DIR] [--static-dir DIR] [--aws]
                             [--demo small|practice] [--oidc-issuer URL --oidc-audience CLIENT_ID]
                             [--public-url URL] [--daraja-sandbox]

Serves the API, the dashboards and the dev sign-in on http://127.0.0.1:PORT (default 3000),
on SQLite, screenshots on disk and notifications to a log, under DIR (default ./.local-data).
--aws runs on DynamoDB and S3 from the standard AWS environment instead (tables named by
KIKAO_TABLE and KIKAO_PROOF_BUCKET; with AWS_ENDPOINT_URL set, e.g. moto, they and the email topic are created
if missing).
--oidc-issuer/--oidc-audience check API tokens as API Gateway's JWT authorizer does, against
that OpenID provider's published keys (a Cognito pool's issuer and app client id, or the test
provider), and point the page's sign-in there instead of the demo users.
--demo practice seeds, into a new data folder, a practice to look at: three psychologists, forty
clients and about 600 sessions over the past six months and the next eight weeks (default: small,
five people and a booking in each status).
--public-url is the address people (and M-Pesa's callbacks, through a tunnel) reach the server
at, when it is not http://127.0.0.1:PORT.
--daraja-sandbox sends payment requests to Safaricom's Daraja sandbox with the app in
KIKAO_DARAJA_CONSUMER_KEY, KIKAO_DARAJA_CONSUMER_SECRET and KIKAO_DARAJA_PASSKEY (default: the
dev server's own stand-in for Daraja).";

struct Args {
    port: u16,
    data_dir: PathBuf,
    static_dir: PathBuf,
    aws: bool,
    oidc_issuer: Option<String>,
    oidc_audience: Option<String>,
    practice: bool,
    public_url: Option<String>,
    daraja_sandbox: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: 3000,
        data_dir: PathBuf::from(".local-data"),
        static_dir: default_static_dir(),
        aws: false,
        oidc_issuer: None,
        oidc_audience: None,
        practice: false,
        public_url: None,
        daraja_sandbox: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--port" => {
                args.port = value("--port")?
                    .parse()
                    .map_err(|_| "--port takes a number from 0 to 65535")?
            }
            "--data-dir" => args.data_dir = PathBuf::from(value("--data-dir")?),
            "--static-dir" => args.static_dir = PathBuf::from(value("--static-dir")?),
            "--aws" => args.aws = true,
            "--demo" => match value("--demo")?.as_str() {
                "practice" => args.practice = true,
                "small" => args.practice = false,
                other => {
                    return Err(format!(
                        "--demo takes small (the default: five people, a booking in each status) or practice, not {other}"
                    ))
                }
            },
            "--oidc-issuer" => args.oidc_issuer = Some(value("--oidc-issuer")?),
            "--oidc-audience" => args.oidc_audience = Some(value("--oidc-audience")?),
            "--daraja-sandbox" => args.daraja_sandbox = true,
            "--public-url" => {
                let url = value("--public-url")?;
                if !url.starts_with("http://") && !url.starts_with("https://") {
                    return Err("--public-url is an address such as https://example.trycloudflare.com".into());
                }
                args.public_url = Some(url.trim_end_matches('/').to_owned());
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.oidc_issuer.is_some() != args.oidc_audience.is_some() {
        return Err("--oidc-issuer and --oidc-audience go together".into());
    }
    Ok(args)
}

#[tokio::main]
async fn main() {
    kikao_telemetry::init();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}\n");
            }
            eprintln!("{USAGE}");
            std::process::exit(if e.is_empty() { 0 } else { 2 });
        }
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "error: cannot listen on {addr}: {e} (is another server running? try --port)"
            );
            std::process::exit(1);
        }
    };
    let bound = listener.local_addr().expect("bound address");
    let mut opts = Options::new(&args.data_dir);
    opts.static_dir = args.static_dir;
    opts.public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{bound}"));
    if args.daraja_sandbox {
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                eprintln!("error: --daraja-sandbox needs {name} (from your Daraja sandbox app)");
                std::process::exit(2);
            })
        };
        opts.daraja = Some((
            kikao_daraja::SANDBOX.to_owned(),
            kikao_daraja::Credentials {
                consumer_key: var("KIKAO_DARAJA_CONSUMER_KEY"),
                consumer_secret: var("KIKAO_DARAJA_CONSUMER_SECRET"),
                passkey: var("KIKAO_DARAJA_PASSKEY"),
            },
        ));
    }
    if args.practice {
        opts.seed = Seed::Practice;
    }
    if args.aws {
        let var =
            |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
        opts.backend = BackendChoice::Aws {
            table: var("KIKAO_TABLE", "kikao-local"),
            bucket: var("KIKAO_PROOF_BUCKET", "kikao-local-proofs"),
        };
    }
    opts.oidc = args.oidc_issuer.zip(args.oidc_audience);
    let local = match Local::open(&opts).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot open the store: {e}");
            std::process::exit(1);
        }
    };
    local.spawn_background(std::time::Duration::from_secs(2));
    let app = router(local.clone(), &opts.static_dir);
    let on = match args.aws {
        true => "on the AWS adapters".to_owned(),
        false => format!("data in {}", args.data_dir.display()),
    };
    println!("Kikao is running at http://{bound}/  ({on})");
    match &local.oidc {
        Some(c) => println!("Sign-in and API tokens: the OpenID provider {}", c.issuer()),
        None => println!("Open it and choose a demo user to sign in; notifications are at http://{bound}/dev/notifications"),
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        eprintln!("error: server stopped: {e}");
        std::process::exit(1);
    }
}
