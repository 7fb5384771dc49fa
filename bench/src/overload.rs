//! `--overload`: the service offered more than it takes must stay bounded.
//!
//! What is checked and reported, after an open-loop load well above what
//! the service sustains:
//! - webhooks shed (answered 503 at once, which Twilio retries) against
//!   those accepted; a shed caller is not owed a text yet, so the texts
//!   check counts accepted callers only;
//! - the accepted webhooks' own latency (p50/p99/max from their scheduled
//!   instant): shedding exists so that these stay fast;
//! - recovery: from the load's last answer until webhooks are answered 200
//!   promptly again (five in a row, each within [`PROMPT`]);
//! - the service's peak RSS (in the main table too).

use crate::load::{send_one, CallerNumbers, LoadResult, Target};
use std::time::{Duration, Instant};

/// An answer this fast counts as "served promptly" for recovery.
const PROMPT: Duration = Duration::from_millis(100);
/// Probes in a row that must be prompt.
const IN_A_ROW: u32 = 5;
/// Give up on recovery after this long.
const GIVE_UP: Duration = Duration::from_secs(60);

pub struct Overload {
    pub shed: u64,
    /// From the load's last answer to the first of the prompt probes;
    /// `None` if it never recovered within [`GIVE_UP`].
    pub recovery: Option<Duration>,
    pub probes: u32,
}

/// Probes recovery, then makes the load's callers those owed a text: the
/// accepted ones and the probes.
pub async fn after_load(target: &Target, load: &mut LoadResult) -> Overload {
    let shed = load.shed_callers.len() as u64;
    for c in &load.shed_callers {
        load.callers.remove(c);
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .expect("an HTTP client");
    let numbers = CallerNumbers::random();
    let since = load.last_response;
    let mut row = 0;
    let mut first_of_row = None;
    let mut probes = 0;
    let recovery = loop {
        if since.elapsed() > GIVE_UP {
            break None;
        }
        let caller = numbers.get(u64::from(probes));
        probes += 1;
        let t = Instant::now();
        let outcome = send_one(&client, target, &caller).await;
        let took = t.elapsed();
        if outcome.is_ok() {
            load.callers.insert(caller, t);
        }
        if outcome.is_ok() && took <= PROMPT {
            row += 1;
            first_of_row.get_or_insert(t);
            if row == IN_A_ROW {
                break first_of_row.map(|t| t.saturating_duration_since(since));
            }
        } else {
            row = 0;
            first_of_row = None;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    Overload {
        shed,
        recovery,
        probes,
    }
}

impl Overload {
    pub fn to_table(&self, load: &LoadResult, service_rss_mib: Option<f64>) -> String {
        let h = &load.accepted_latency_us;
        let ms = |us: u64| us as f64 / 1000.0;
        let other: u64 = load
            .errors
            .iter()
            .filter(|(k, _)| k.as_str() != "503")
            .map(|(_, n)| n)
            .sum();
        format!(
            "\noverload:\n  webhooks offered        {}\n  accepted (200)          {}\n  shed (503, retried)     {}\n  other errors            {other}\n  accepted latency ms     p50 {:.1}  p99 {:.1}  max {:.1}\n  recovery                {}\n  service peak RSS        {}\n",
            load.webhooks,
            load.ok,
            self.shed,
            ms(h.value_at_quantile(0.5)),
            ms(h.value_at_quantile(0.99)),
            ms(h.max()),
            match self.recovery {
                Some(d) => format!(
                    "{:.2} s after the load ({} probes; {IN_A_ROW} in a row within {} ms)",
                    d.as_secs_f64(),
                    self.probes,
                    PROMPT.as_millis()
                ),
                None => format!("NOT within {} s", GIVE_UP.as_secs()),
            },
            service_rss_mib.map_or("n/a".to_string(), |m| format!("{m:.1} MiB")),
        )
    }
}
