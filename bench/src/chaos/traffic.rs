//! The carrier's side of the chaos run: missed calls at a steady rate, each
//! one's webhook delivered two or three times to different instances (a few
//! at once, a few a moment later, as a carrier's retries and a load
//! balancer's spreading do), and delivered again while no delivery was
//! acknowledged, since the carrier retries a webhook that failed.
//!
//! What matters afterwards is which calls were **acknowledged** (some
//! delivery got 200 with TwiML): from that moment the service owes the
//! caller exactly one text, whatever gets killed.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng as _;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::load::{missed_call_webhook, CallerNumbers, Target, Webhook, WEBHOOK_PATH};

pub struct TrafficPlan {
    /// New missed calls per second.
    pub rate: f64,
    /// Deliveries of each webhook per round: 2 up to this.
    pub max_copies: u32,
    /// Later copies go out up to this long after the first.
    pub spread: Duration,
    /// Rounds of deliveries while none was acknowledged.
    pub rounds: u32,
    /// Pause between rounds.
    pub retry_after: Duration,
    pub timeout: Duration,
    pub max_in_flight: usize,
}

#[derive(Debug, Default)]
pub struct TrafficResult {
    pub calls: u64,
    /// Callers whose webhook some instance acknowledged.
    pub acked: HashSet<String>,
    /// Callers none of whose deliveries was ever acknowledged.
    pub never_acked: u64,
    pub webhooks: u64,
    /// Webhook outcomes: `200`, `503`, `connect error`, `timeout`, ...
    pub outcomes: BTreeMap<String, u64>,
    /// Rounds after the first (the carrier retrying an unacknowledged call).
    pub retry_rounds: u64,
}

/// Runs until `stop` is set, then lets every call finish its rounds.
pub async fn run(
    plan: TrafficPlan,
    target: Target,
    ports: Vec<u16>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<TrafficResult> {
    anyhow::ensure!(plan.rate > 0.0, "rate must be positive");
    let client = reqwest::Client::builder()
        .timeout(plan.timeout)
        .tcp_nodelay(true)
        .build()?;
    let urls: Vec<reqwest::Url> = ports
        .iter()
        .map(|port| reqwest::Url::parse(&format!("http://127.0.0.1:{port}{WEBHOOK_PATH}")))
        .collect::<Result<_, _>>()?;
    let shared = Arc::new(Shared {
        client,
        urls,
        slots: Semaphore::new(plan.max_in_flight),
        result: Mutex::new(TrafficResult::default()),
    });
    let numbers = CallerNumbers::random();
    let plan = Arc::new(plan);
    let mut calls = JoinSet::new();
    let period = Duration::from_secs_f64(1.0 / plan.rate);
    let mut next = tokio::time::Instant::now();
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep_until(next).await;
        next += period;
        let caller = numbers.get(i);
        i += 1;
        let webhook = Arc::new(missed_call_webhook(&target, &caller));
        calls.spawn(call(shared.clone(), plan.clone(), caller, webhook));
        // Reap finished calls as we go so the set stays small.
        while calls.try_join_next().is_some() {}
    }
    while calls.join_next().await.is_some() {}
    let mut result = std::mem::take(&mut *shared.result.lock().unwrap());
    result.calls = i;
    result.never_acked = i - result.acked.len() as u64;
    Ok(result)
}

struct Shared {
    client: reqwest::Client,
    urls: Vec<reqwest::Url>,
    slots: Semaphore,
    result: Mutex<TrafficResult>,
}

/// One missed call: rounds of 2..=max_copies deliveries, each to the next
/// instance, until one is acknowledged or the rounds run out.
async fn call(shared: Arc<Shared>, plan: Arc<TrafficPlan>, caller: String, webhook: Arc<Webhook>) {
    for round in 0..plan.rounds {
        if round > 0 {
            tokio::time::sleep(plan.retry_after).await;
            shared.result.lock().unwrap().retry_rounds += 1;
        }
        let (copies, first, delays) = {
            let mut rng = rand::rng();
            let copies = rng.random_range(2..=plan.max_copies.max(2));
            let first = rng.random_range(0..shared.urls.len());
            let spread = plan.spread.as_micros() as u64;
            let delays: Vec<Duration> = (0..copies)
                .map(|k| match k {
                    0 => Duration::ZERO,
                    _ => Duration::from_micros(rng.random_range(0..=spread)),
                })
                .collect();
            (copies, first, delays)
        };
        let mut deliveries = JoinSet::new();
        for (k, delay) in delays.into_iter().enumerate() {
            let url = shared.urls[(first + k) % shared.urls.len()].clone();
            let (shared, webhook) = (shared.clone(), webhook.clone());
            deliveries.spawn(async move {
                tokio::time::sleep(delay).await;
                let _slot = shared.slots.acquire().await.expect("never closed");
                deliver(&shared.client, url, &webhook).await
            });
        }
        let mut acked = false;
        let mut outcomes = Vec::with_capacity(copies as usize);
        while let Some(outcome) = deliveries.join_next().await {
            let outcome = outcome.unwrap_or_else(|_| "delivery task failed".to_string());
            acked |= outcome == "200";
            outcomes.push(outcome);
        }
        let mut result = shared.result.lock().unwrap();
        result.webhooks += outcomes.len() as u64;
        for outcome in outcomes {
            *result.outcomes.entry(outcome).or_default() += 1;
        }
        if acked {
            result.acked.insert(caller);
            return;
        }
    }
}

/// `200` for 200 with a TwiML `<Response>`; otherwise what happened.
async fn deliver(client: &reqwest::Client, url: reqwest::Url, webhook: &Webhook) -> String {
    let sent = webhook.attach(client.post(url)).send().await;
    let response = match sent {
        Ok(response) => response,
        Err(err) => return transport_error(&err),
    };
    let status = response.status();
    match response.text().await {
        Ok(body) if status == 200 && body.contains("<Response") => "200".to_string(),
        Ok(_) if status == 200 => "200 without TwiML".to_string(),
        Ok(_) => status.as_u16().to_string(),
        // The answer was cut off (the instance died while answering): the
        // carrier saw no acknowledgement.
        Err(err) => transport_error(&err),
    }
}

fn transport_error(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "timeout".to_string()
    } else if err.is_connect() {
        "connect error".to_string()
    } else {
        "connection lost".to_string()
    }
}
