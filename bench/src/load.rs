//! Open-loop load generator: signed missed-call webhooks at a fixed rate,
//! in the carrier's own format and signature (`carrier.rs`).
//!
//! Call `i` is *scheduled* at `start + i / rate`, whatever happened to earlier
//! requests, and its latency is measured from that scheduled instant, so a
//! slow service cannot make the bench send less (no coordinated omission).
//! Requests in flight are capped; when the cap is hit the scheduler waits for a
//! slot, which is counted and reported, and the wait still shows up in the
//! latencies because they start from the schedule.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::Semaphore;

use crate::carrier::Provider;
use crate::signature::twilio_signature;
use mock_carrier::twilio::new_sid;

/// Twilio's missed-call webhook path (the chaos run and the stand-in's).
pub const WEBHOOK_PATH: &str = "/webhooks/twilio/voice/dial";

pub struct Plan {
    pub calls: u64,
    /// New missed calls per second.
    pub rate: f64,
    /// Copies of each webhook (Twilio retries), sent together.
    pub duplicates: u32,
    pub max_in_flight: usize,
    pub timeout: Duration,
    /// Print a progress line to stderr every second.
    pub progress: bool,
}

#[derive(Clone)]
pub struct Target {
    /// Whose webhooks these are.
    pub provider: Provider,
    /// `http://127.0.0.1:PORT` — the service's public URL.
    pub public_url: String,
    pub account_sid: String,
    pub auth_token: String,
    /// The business number that was called (`To`).
    pub business_number: String,
}

pub struct LoadResult {
    /// Scheduled instant of the first webhook.
    pub start: Instant,
    /// When the last response (or error) came back.
    pub last_response: Instant,
    /// Caller number → scheduled instant of its (first) webhook.
    pub callers: HashMap<String, Instant>,
    pub webhooks: u64,
    pub ok: u64,
    /// Non-OK outcomes by kind (`403`, `200 without TwiML`, `timeout`, ...).
    pub errors: BTreeMap<String, u64>,
    /// Scheduled send → response, in microseconds: the latency to report.
    pub latency_us: Histogram<u64>,
    /// Actual send → response, in microseconds ("uncorrected" service time).
    pub service_us: Histogram<u64>,
    /// Scheduled → actual send, in microseconds: timer granularity (~1 ms)
    /// plus any wait for a free slot.
    pub send_lag_us: Histogram<u64>,
    /// Webhooks that found every in-flight slot taken.
    pub cap_hits: u64,
    pub peak_in_flight: usize,
    /// Scheduled send → response of the webhooks answered 200 only: what
    /// accepted work saw while the rest was shed (`--overload`).
    pub accepted_latency_us: Histogram<u64>,
    /// Callers whose every delivery was answered 503 (shed): the carrier
    /// retries those later, so no text is due to them yet.
    pub shed_callers: std::collections::HashSet<String>,
}

/// Distinct, valid-looking NANP numbers `+1 NPA 55X XXXX`: area codes
/// `[2-4,6-7][0-8][0-9]` (no N11, no 37X) × exchanges 550-559 × 10 000
/// lines, walked from a random offset so runs against a persistent database do
/// not reuse callers (which the service would rightly not text again).
#[derive(Clone)]
pub struct CallerNumbers {
    area_codes: Vec<u16>,
    offset: u64,
}

const NUMBERS_PER_AREA: u64 = 10 * 10_000;

impl CallerNumbers {
    pub fn new(offset: u64) -> Self {
        let area_codes = (200..800)
            .filter(|npa| {
                let (a, b, c) = (npa / 100, npa / 10 % 10, npa % 10);
                a != 5 && b != 9 && !(b == 1 && c == 1) && npa / 10 != 37
            })
            .collect();
        Self { area_codes, offset }
    }

    pub fn random() -> Self {
        Self::new(rand::random::<u64>())
    }

    pub fn capacity(&self) -> u64 {
        self.area_codes.len() as u64 * NUMBERS_PER_AREA
    }

    pub fn get(&self, i: u64) -> String {
        let k = (self.offset % self.capacity() + i) % self.capacity();
        let npa = self.area_codes[(k / NUMBERS_PER_AREA) as usize];
        let rest = k % NUMBERS_PER_AREA;
        format!("+1{npa}{}{:04}", 550 + rest / 10_000, rest % 10_000)
    }
}

/// The load scheduler's shortest sleep.
const SCHEDULER_TICK: Duration = Duration::from_millis(1);

/// One signed webhook, ready to send (form-encoded).
pub struct Webhook {
    /// Shared, not copied, by each delivery of the webhook.
    pub body: bytes::Bytes,
    /// The signature headers.
    pub headers: Vec<(&'static str, String)>,
}

impl Webhook {
    /// `request` with the webhook's body and headers.
    pub fn attach(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let request = request
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(self.body.clone());
        self.headers
            .iter()
            .fold(request, |r, (name, value)| r.header(*name, value))
    }
}

/// The `Dial` action callback the carrier sends when the forwarded call
/// was not answered: Twilio's, or a TeXML application's on Telnyx.
pub fn missed_call_webhook(target: &Target, caller: &str) -> Webhook {
    match target.provider {
        Provider::Twilio => twilio_missed_call(target, caller),
        Provider::Telnyx => telnyx_missed_call(target, caller),
    }
}

fn twilio_missed_call(target: &Target, caller: &str) -> Webhook {
    let url = format!("{}{}", target.public_url, Provider::Twilio.webhook_path());
    let call_sid = new_sid("CA");
    let dial_call_sid = new_sid("CA");
    let params = [
        ("AccountSid", target.account_sid.as_str()),
        ("CallSid", call_sid.as_str()),
        ("From", caller),
        ("To", target.business_number.as_str()),
        ("CallStatus", "in-progress"),
        ("Direction", "inbound"),
        ("ApiVersion", "2010-04-01"),
        ("DialCallStatus", "no-answer"),
        ("DialCallSid", dial_call_sid.as_str()),
        ("DialCallDuration", "0"),
    ];
    let signature = twilio_signature(&target.auth_token, &url, &params);
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    Webhook {
        body: body.into(),
        headers: vec![("X-Twilio-Signature", signature)],
    }
}

/// TeXML's callback carries Twilio's parameter names, with Telnyx's call
/// ids, signed with Ed25519 over `"{timestamp}|{body}"` at the wall
/// clock's time (ringback refuses one more than 300 s off).
fn telnyx_missed_call(target: &Target, caller: &str) -> Webhook {
    let call_sid = format!("v3:{}", &new_sid("")[..24]);
    let params = [
        ("AccountSid", target.account_sid.as_str()),
        ("CallSid", call_sid.as_str()),
        ("From", caller),
        ("To", target.business_number.as_str()),
        ("CallStatus", "in-progress"),
        ("Direction", "inbound"),
        ("DialCallStatus", "no-answer"),
        ("DialCallDuration", "0"),
    ];
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (timestamp, signature) = mock_carrier::telnyx::sign(now, body.as_bytes());
    Webhook {
        body: body.into(),
        headers: vec![
            ("telnyx-timestamp", timestamp),
            ("telnyx-signature-ed25519", signature),
        ],
    }
}

struct Schedule {
    callers: HashMap<String, Instant>,
    cap_hits: u64,
    peak_in_flight: usize,
}

struct Collector {
    ok: u64,
    errors: BTreeMap<String, u64>,
    accepted_latency_us: Histogram<u64>,
    accepted_callers: std::collections::HashSet<String>,
    shed_callers: std::collections::HashSet<String>,
    latency_us: Histogram<u64>,
    service_us: Histogram<u64>,
    send_lag_us: Histogram<u64>,
    last_response: Option<Instant>,
}

impl Collector {
    fn new() -> Self {
        Self {
            ok: 0,
            errors: BTreeMap::new(),
            accepted_latency_us: latency_histogram(),
            accepted_callers: Default::default(),
            shed_callers: Default::default(),
            latency_us: latency_histogram(),
            service_us: latency_histogram(),
            send_lag_us: latency_histogram(),
            last_response: None,
        }
    }

    fn record(
        &mut self,
        caller: &str,
        outcome: Result<(), String>,
        scheduled: Instant,
        sent: Instant,
        done: Instant,
    ) {
        let micros = |from: Instant, to: Instant| {
            (to.saturating_duration_since(from).as_micros() as u64).max(1)
        };
        self.latency_us.saturating_record(micros(scheduled, done));
        self.service_us.saturating_record(micros(sent, done));
        self.send_lag_us.saturating_record(micros(scheduled, sent));
        match outcome {
            Ok(()) => {
                self.ok += 1;
                self.accepted_latency_us
                    .saturating_record(micros(scheduled, done));
                self.accepted_callers.insert(caller.to_string());
            }
            Err(kind) => {
                if kind == "503" {
                    self.shed_callers.insert(caller.to_string());
                }
                *self.errors.entry(kind).or_default() += 1
            }
        }
        self.last_response = Some(self.last_response.map_or(done, |t| t.max(done)));
    }
}

/// A histogram for microsecond latencies from 1 µs to one hour, 3 significant digits.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

pub async fn run(
    plan: &Plan,
    target: &Target,
    numbers: &CallerNumbers,
) -> anyhow::Result<LoadResult> {
    anyhow::ensure!(plan.rate > 0.0, "rate must be positive");
    anyhow::ensure!(
        plan.calls <= numbers.capacity(),
        "at most {} distinct callers",
        numbers.capacity()
    );
    // Parsed once: per request it showed in the bench's profile.
    let url = reqwest::Url::parse(&format!(
        "{}{}",
        target.public_url,
        target.provider.webhook_path()
    ))?;
    let client = reqwest::Client::builder()
        .timeout(plan.timeout)
        .pool_max_idle_per_host(plan.max_in_flight)
        .tcp_nodelay(true)
        .build()?;
    let slots = Arc::new(Semaphore::new(plan.max_in_flight));
    let collector = Arc::new(Mutex::new(Collector::new()));
    let sent = Arc::new(AtomicU64::new(0));

    let start = Instant::now() + Duration::from_millis(50);
    let progress = plan.progress.then(|| {
        let (sent, collector) = (sent.clone(), collector.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(
                (start + Duration::from_secs(1)).into(),
                Duration::from_secs(1),
            );
            loop {
                tick.tick().await;
                let (ok, errors) = {
                    let c = collector.lock().unwrap();
                    (c.ok, c.errors.values().sum::<u64>())
                };
                let sent = sent.load(Ordering::Relaxed);
                eprintln!(
                    "  t={:>4.0}s  sent {sent:>8}  ok {ok:>8}  errors {errors:>6}  in flight {:>5}",
                    start.elapsed().as_secs_f64(),
                    sent.saturating_sub(ok + errors),
                );
            }
        })
    });

    // The schedule runs on its own OS thread: `std::thread::sleep` wakes within
    // tens of microseconds, where tokio's timer works in whole milliseconds
    // (it sleeps at least SCHEDULER_TICK, though: see below).
    let scheduler = {
        let runtime = tokio::runtime::Handle::current();
        let (target, numbers) = (target.clone(), numbers.clone());
        let (client, slots, sent, collector) =
            (client, slots.clone(), sent.clone(), collector.clone());
        let url = url.clone();
        let (calls, rate, duplicates, max_in_flight) =
            (plan.calls, plan.rate, plan.duplicates, plan.max_in_flight);
        tokio::task::spawn_blocking(move || -> anyhow::Result<Schedule> {
            let mut schedule = Schedule {
                callers: HashMap::with_capacity(calls as usize),
                cap_hits: 0,
                peak_in_flight: 0,
            };
            let mut last_wake = Instant::now();
            for i in 0..calls {
                let scheduled = start + Duration::from_secs_f64(i as f64 / rate);
                let now = Instant::now();
                if scheduled > now {
                    // At most one wake per SCHEDULER_TICK: above 1,000 calls/s
                    // those due in between go together at the next wake (each
                    // still timed from its own scheduled instant), sparing the
                    // bench a sleep and a wake-up per call on the cores the
                    // service needs.
                    let wake = scheduled.max(last_wake + SCHEDULER_TICK);
                    std::thread::sleep(wake - now);
                    // The wake meant, not the (always a little later) wake
                    // had: else the overshoot would pile up, and calls at
                    // exactly one per tick would drift a tick behind.
                    last_wake = wake;
                }
                let caller = numbers.get(i);
                let webhook = Arc::new(missed_call_webhook(&target, &caller));
                schedule.callers.insert(caller.clone(), scheduled);
                let caller: Arc<str> = caller.into();
                for _ in 0..duplicates {
                    let permit = match slots.clone().try_acquire_owned() {
                        Ok(permit) => permit,
                        Err(_) => {
                            schedule.cap_hits += 1;
                            runtime.block_on(slots.clone().acquire_owned())?
                        }
                    };
                    let in_flight = max_in_flight - slots.available_permits();
                    schedule.peak_in_flight = schedule.peak_in_flight.max(in_flight);
                    sent.fetch_add(1, Ordering::Relaxed);
                    let (client, url, webhook, collector, caller) = (
                        client.clone(),
                        url.clone(),
                        webhook.clone(),
                        collector.clone(),
                        caller.clone(),
                    );
                    runtime.spawn(async move {
                        let sent_at = Instant::now();
                        let outcome = send(&client, url, &webhook).await;
                        let done = Instant::now();
                        collector
                            .lock()
                            .unwrap()
                            .record(&caller, outcome, scheduled, sent_at, done);
                        drop(permit);
                    });
                }
            }
            Ok(schedule)
        })
    };
    let Schedule {
        callers,
        cap_hits,
        peak_in_flight,
    } = scheduler.await??;
    // Every slot back means every request has finished.
    let _all = slots.acquire_many(plan.max_in_flight as u32).await?;
    if let Some(progress) = progress {
        progress.abort();
    }

    // Tasks may still be dropping their clones of the collector; take its contents.
    let collector = std::mem::replace(&mut *collector.lock().unwrap(), Collector::new());
    Ok(LoadResult {
        start,
        last_response: collector.last_response.unwrap_or(start),
        callers,
        webhooks: plan.calls * u64::from(plan.duplicates),
        ok: collector.ok,
        errors: collector.errors,
        latency_us: collector.latency_us,
        service_us: collector.service_us,
        send_lag_us: collector.send_lag_us,
        cap_hits,
        peak_in_flight,
        accepted_latency_us: collector.accepted_latency_us,
        // A caller with one delivery accepted (--duplicates) is texted.
        shed_callers: collector
            .shed_callers
            .difference(&collector.accepted_callers)
            .cloned()
            .collect(),
    })
}

/// `send` for one webhook, for probes after the load.
pub async fn send_one(
    client: &reqwest::Client,
    target: &Target,
    caller: &str,
) -> Result<(), String> {
    let url = reqwest::Url::parse(&format!(
        "{}{}",
        target.public_url,
        target.provider.webhook_path()
    ))
    .map_err(|e| e.to_string())?;
    send(client, url, &missed_call_webhook(target, caller)).await
}

/// `Ok` for `200` with a TwiML (TeXML) `<Response>` body; otherwise what went wrong.
async fn send(
    client: &reqwest::Client,
    url: reqwest::Url,
    webhook: &Webhook,
) -> Result<(), String> {
    let response = webhook
        .attach(client.post(url))
        .send()
        .await
        .map_err(|err| transport_error(&err))?;
    let status = response.status();
    let body = response.text().await.map_err(|err| transport_error(&err))?;
    match status.as_u16() {
        200 if body.contains("<Response") => Ok(()),
        200 => Err("200 without TwiML".to_string()),
        code => Err(code.to_string()),
    }
}

fn transport_error(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "timeout".to_string()
    } else if err.is_connect() {
        "connect error".to_string()
    } else {
        "transport error".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn caller_numbers_are_distinct_valid_nanp() {
        let numbers = CallerNumbers::new(0);
        let mut seen = HashSet::new();
        // Crosses area-code boundaries.
        for i in (0..300_000).step_by(7) {
            let n = numbers.get(i);
            assert_eq!(n.len(), 12, "{n}");
            let digits = &n[2..];
            assert!(n.starts_with("+1"));
            assert!(digits.bytes().all(|b| b.is_ascii_digit()));
            assert!((b'2'..=b'9').contains(&digits.as_bytes()[0]), "{n}");
            assert!((b'2'..=b'9').contains(&digits.as_bytes()[3]), "{n}");
            assert_eq!(&digits[3..5], "55", "{n}");
            assert_ne!(&digits[..3], "512", "{n}");
            assert!(seen.insert(n));
        }
        // Wraps around without panicking.
        let wrapped = CallerNumbers::new(u64::MAX);
        let _ = wrapped.get(numbers.capacity() + 5);
        assert!(numbers.capacity() > 40_000_000);
    }

    #[test]
    fn webhook_is_signed_over_url_and_sorted_params() {
        let target = Target {
            provider: Provider::Twilio,
            public_url: "http://127.0.0.1:3000".to_string(),
            account_sid: new_sid("AC"),
            auth_token: "token".to_string(),
            business_number: "+15125550100".to_string(),
        };
        let webhook = missed_call_webhook(&target, "+12025550123");
        let url = "http://127.0.0.1:3000/webhooks/twilio/voice/dial";
        let params: Vec<(String, String)> =
            form_urlencoded::parse(&webhook.body).into_owned().collect();
        let get = |name: &str| params.iter().find(|(k, _)| k == name).unwrap().1.as_str();
        assert_eq!(get("From"), "+12025550123");
        assert_eq!(get("To"), "+15125550100");
        assert_eq!(get("DialCallStatus"), "no-answer");
        assert!(get("CallSid").starts_with("CA") && get("CallSid").len() == 34);
        let borrowed: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert!(crate::signature::verify(
            "token",
            url,
            &borrowed,
            &webhook.headers[0].1
        ));
    }

    #[test]
    fn a_telnyx_webhook_is_signed_as_telnyx_signs() {
        let target = Target {
            provider: Provider::Telnyx,
            public_url: "http://127.0.0.1:3000".to_string(),
            account_sid: "6a09cdc3-8948-47f0-aa62-74ac943d6c58".to_string(),
            auth_token: String::new(),
            business_number: "+15125550100".to_string(),
        };
        let webhook = missed_call_webhook(&target, "+12025550123");
        let params: Vec<(String, String)> =
            form_urlencoded::parse(&webhook.body).into_owned().collect();
        let get = |name: &str| params.iter().find(|(k, _)| k == name).unwrap().1.as_str();
        assert_eq!(get("From"), "+12025550123");
        assert_eq!(get("DialCallStatus"), "no-answer");
        assert!(get("CallSid").starts_with("v3:"));
        let header = |name: &str| {
            webhook
                .headers
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.as_str())
        };
        let key: [u8; 32] = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            mock_carrier::telnyx::public_key(),
        )
        .unwrap()
        .try_into()
        .unwrap();
        let now: i64 = header("telnyx-timestamp").unwrap().parse().unwrap();
        let verify = |body: &[u8]| {
            ringback::provider::telnyx::signature::verify(
                &key,
                header("telnyx-timestamp"),
                header("telnyx-signature-ed25519"),
                body,
                now,
            )
        };
        assert!(verify(&webhook.body).is_ok());
        assert!(verify(b"From=%2B12025550124").is_err());
    }
}
