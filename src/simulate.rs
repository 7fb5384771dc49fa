//! `ringback simulate`: plays the carrier against a running instance so a
//! newcomer sees the whole flow without a carrier account. Every webhook is
//! signed exactly as Twilio would sign it (with the Auth Token, or the
//! development secret in console mode), then the lead is read back through
//! the admin API.

use crate::config::{Config, Settings, DEV_ADMIN_TOKEN};
use crate::provider::twilio::signature;
use anyhow::{bail, Context};
use secrecy::ExposeSecret;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// Base URL of the running instance.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The caller's number.
    #[arg(long, default_value = "+15125550147")]
    pub from: String,
    /// The tracking number called (default: the first business's first number).
    #[arg(long)]
    pub to: Option<String>,
    /// The caller's reply, texted after the instant text arrives.
    #[arg(long)]
    pub reply: Option<String>,
    /// How the call ends: no-answer, busy, canceled, completed.
    #[arg(long, default_value = "no-answer")]
    pub dial_status: String,
    /// The carrier to play: `twilio`, or `telnyx` (TeXML callbacks and
    /// API v2 events signed with the development key: the instance must
    /// run with `TELNYX_PUBLIC_KEY` set to its public key, see
    /// docs/configuration.md).
    #[arg(long, default_value = "twilio")]
    pub provider: String,
}

pub async fn run(settings: Settings, args: SimulateArgs) -> anyhow::Result<()> {
    match args.provider.as_str() {
        "twilio" => {}
        "telnyx" => return run_telnyx(settings, args).await,
        other => bail!("--provider {other:?}: expected twilio or telnyx"),
    }
    let to = match args.to.clone() {
        Some(t) => t,
        None => {
            let config = Config::load(&settings.config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
            config.businesses[0].numbers[0].to_string()
        }
    };
    let key = crate::startup::webhook_keys(&settings)
        .auth_token
        .expose_secret()
        .to_string();
    // Sign over the URL the server will rebuild: its public URL if set.
    let signed_base = settings
        .public_url
        .clone()
        .unwrap_or_else(|| args.url.trim_end_matches('/').to_string());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let call_sid = format!("CA{}", uuid::Uuid::new_v4().simple());
    let account = settings
        .twilio
        .as_ref()
        .map(|t| t.account_sid.clone())
        .unwrap_or_else(|| "ACsimulated".into());
    let post = |path: &'static str, params: Vec<(&'static str, String)>| {
        let http = http.clone();
        let key = key.clone();
        let url = format!("{}{path}", args.url.trim_end_matches('/'));
        let signed_url = format!("{signed_base}{path}");
        async move {
            let pairs: Vec<(String, String)> = params
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect();
            let sig = signature::sign(
                key.as_bytes(),
                &signed_url,
                &pairs,
                signature::Algorithm::HmacSha1,
            );
            let resp = http
                .post(&url)
                .header("X-Twilio-Signature", sig)
                .form(&params)
                .send()
                .await
                .with_context(|| format!("cannot reach {url}: is `ringback serve` running?"))?;
            let status = resp.status();
            let body = resp.text().await.unwrap_or_default();
            println!("POST {path} -> {status}\n  {body}");
            if !status.is_success() {
                bail!("{path} answered {status}");
            }
            anyhow::Ok(body)
        }
    };
    let base = |extra: Vec<(&'static str, String)>| {
        let mut v = vec![
            ("AccountSid", account.clone()),
            ("CallSid", call_sid.clone()),
            ("From", args.from.clone()),
            ("To", to.clone()),
            ("Direction", "inbound".into()),
            ("ApiVersion", "2010-04-01".into()),
        ];
        v.extend(extra);
        v
    };
    println!("1. {} calls {to}", args.from);
    let twiml = post(
        "/webhooks/twilio/voice",
        base(vec![("CallStatus", "ringing".into())]),
    )
    .await?;
    if twiml.contains("<Dial") {
        println!(
            "2. the business phone rings, nobody answers ({})",
            args.dial_status
        );
        post(
            "/webhooks/twilio/voice/dial",
            base(vec![
                ("CallStatus", "in-progress".into()),
                ("DialCallStatus", args.dial_status.clone()),
                (
                    "DialCallSid",
                    format!("CA{}", uuid::Uuid::new_v4().simple()),
                ),
                ("DialCallDuration", "0".into()),
            ]),
        )
        .await?;
    } else {
        println!("2. after hours: straight to voicemail");
    }
    let admin = settings
        .admin_token
        .as_ref()
        .map(|t| t.expose_secret().to_string())
        .unwrap_or_else(|| DEV_ADMIN_TOKEN.to_string());
    let lead = wait_for_text(&http, &args.url, &admin, &args.from).await?;
    if let Some(reply) = &args.reply {
        println!("3. {} replies: {reply:?}", args.from);
        post(
            "/webhooks/twilio/sms",
            vec![
                ("AccountSid", account.clone()),
                ("MessageSid", format!("SM{}", uuid::Uuid::new_v4().simple())),
                ("From", args.from.clone()),
                ("To", to.clone()),
                ("Body", reply.clone()),
                ("NumMedia", "0".into()),
            ],
        )
        .await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    if let Some(id) = lead {
        let detail: serde_json::Value = http
            .get(format!(
                "{}/api/v1/leads/{id}",
                args.url.trim_end_matches('/')
            ))
            .bearer_auth(&admin)
            .send()
            .await?
            .json()
            .await?;
        println!(
            "\nlead {id}: status {}, calls {}",
            detail["lead"]["status"], detail["lead"]["call_count"]
        );
        for m in detail["messages"].as_array().into_iter().flatten() {
            println!(
                "  [{} {} {}] {}",
                m["direction"].as_str().unwrap_or(""),
                m["kind"].as_str().unwrap_or(""),
                m["status"].as_str().unwrap_or(""),
                m["body"].as_str().unwrap_or("")
            );
        }
    }
    Ok(())
}

/// `--provider telnyx`: the same call and reply as Telnyx posts them
/// (TeXML callbacks, then a `message.received` event), signed with the
/// development key.
async fn run_telnyx(settings: Settings, args: SimulateArgs) -> anyhow::Result<()> {
    use crate::provider::telnyx::signature::{sign, DEV_SIGNING_SEED};
    let to = match args.to.clone() {
        Some(t) => t,
        None => {
            let config = Config::load(&settings.config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
            config
                .businesses
                .iter()
                .flat_map(|b| b.numbers.iter())
                .map(|n| n.to_string())
                .find(|n| config.carrier_of(n) == crate::config::CarrierKind::Telnyx)
                .context("no business number uses Telnyx: set provider = \"telnyx\" on one, or pass --to")?
        }
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let base_url = args.url.trim_end_matches('/').to_string();
    let post = |path: &'static str, content_type: &'static str, body: String| {
        let http = http.clone();
        let url = format!("{base_url}{path}");
        async move {
            let ts = chrono::Utc::now().timestamp().to_string();
            let sig = sign(&DEV_SIGNING_SEED, &ts, body.as_bytes());
            let resp = http
                .post(&url)
                .header("content-type", content_type)
                .header("telnyx-timestamp", ts)
                .header("telnyx-signature-ed25519", sig)
                .body(body)
                .send()
                .await
                .with_context(|| format!("cannot reach {url}: is `ringback serve` running?"))?;
            let status = resp.status();
            let text = resp.text().await.unwrap_or_default();
            println!("POST {path} -> {status}\n  {text}");
            if status == reqwest::StatusCode::FORBIDDEN {
                println!("(the instance checks Telnyx webhooks against its TELNYX_PUBLIC_KEY; for simulate it must be the development key's, see docs/configuration.md)");
            }
            if !status.is_success() {
                bail!("{path} answered {status}");
            }
            anyhow::Ok(text)
        }
    };
    let call_sid = format!("v3:{}", uuid::Uuid::new_v4().simple());
    let form = |extra: &[(&str, &str)]| {
        let mut f = form_urlencoded::Serializer::new(String::new());
        f.append_pair("AccountSid", "simulated")
            .append_pair("CallSid", &call_sid)
            .append_pair("From", &args.from)
            .append_pair("To", &to);
        f.extend_pairs(extra);
        f.finish()
    };
    const FORM: &str = "application/x-www-form-urlencoded";
    println!("1. {} calls {to} (Telnyx, TeXML)", args.from);
    let texml = post(
        "/webhooks/telnyx/texml/voice",
        FORM,
        form(&[("CallStatus", "ringing")]),
    )
    .await?;
    if texml.contains("<Dial") {
        println!(
            "2. the business phone rings, nobody answers ({})",
            args.dial_status
        );
        let body = form(&[
            ("CallStatus", "in-progress"),
            ("DialCallStatus", &args.dial_status),
            ("DialCallDuration", "0"),
        ]);
        post("/webhooks/telnyx/texml/dial", FORM, body).await?;
    } else {
        println!("2. after hours: straight to voicemail");
    }
    let admin = settings
        .admin_token
        .as_ref()
        .map(|t| t.expose_secret().to_string())
        .unwrap_or_else(|| DEV_ADMIN_TOKEN.to_string());
    wait_for_text(&http, &args.url, &admin, &args.from).await?;
    if let Some(reply) = &args.reply {
        println!("3. {} replies: {reply:?}", args.from);
        let event = serde_json::json!({
            "data": {
                "record_type": "event",
                "id": uuid::Uuid::new_v4().to_string(),
                "event_type": "message.received",
                "occurred_at": chrono::Utc::now().to_rfc3339(),
                "payload": {
                    "id": uuid::Uuid::new_v4().to_string(),
                    "direction": "inbound",
                    "type": "SMS",
                    "text": reply,
                    "from": {"phone_number": args.from},
                    "to": [{"phone_number": to}],
                },
            },
            "meta": {"attempt": 1},
        });
        post("/webhooks/telnyx", "application/json", event.to_string()).await?;
    }
    Ok(())
}

/// Polls the admin API until the caller's lead shows the instant text sent.
async fn wait_for_text(
    http: &reqwest::Client,
    url: &str,
    admin: &str,
    caller: &str,
) -> anyhow::Result<Option<i64>> {
    let base = url.trim_end_matches('/');
    for _ in 0..50 {
        let resp = http
            .get(format!("{base}/api/v1/leads"))
            .query(&[("caller", caller), ("limit", "1")])
            .bearer_auth(admin)
            .send()
            .await?;
        if resp.status() == reqwest::StatusCode::UNAUTHORIZED {
            println!("(set RINGBACK_ADMIN_TOKEN to the server's token to see the lead)");
            return Ok(None);
        }
        let v: serde_json::Value = resp.json().await?;
        if let Some(lead) = v["leads"].as_array().and_then(|a| a.first()) {
            let id = lead["id"].as_i64().unwrap_or_default();
            let detail: serde_json::Value = http
                .get(format!("{base}/api/v1/leads/{id}"))
                .bearer_auth(admin)
                .send()
                .await?
                .json()
                .await?;
            let settled = detail["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|m| {
                    m["kind"] == "instant"
                        && matches!(
                            m["status"].as_str(),
                            Some("sent" | "delivered" | "suppressed" | "failed")
                        )
                });
            if settled {
                for m in detail["messages"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|m| m["kind"] == "instant")
                {
                    println!(
                        "   instant text {}: {}",
                        m["status"].as_str().unwrap_or(""),
                        m["body"].as_str().unwrap_or("")
                    );
                }
                return Ok(Some(id));
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("   (no instant text within 5 s; check the server log)");
    Ok(None)
}
