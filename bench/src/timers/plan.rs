//! What a timer run does: the plan (how many timers, at what rate, over
//! what window) with its checks, and the service config it runs under.
//!
//! Apart from `mod.rs` (the run itself) so that what is measured can be
//! read without the orchestration around it.

use super::*;

/// The service's config for this mode: the load mode's business with the
/// default three-step follow-up sequence, and quiet hours opened to the
/// whole day (but for the minute 23:59-24:00 in the recipient's time zone,
/// since a window cannot end at 24:00), so that the run measures timers,
/// not quiet-hours holds, whatever the time of day. Stream callers are
/// +1 212 numbers (New York: the default window applies).
pub const TIMER_CONFIG_TEMPLATE: &str = r#"[service]
prompts_dir = "{prompts_dir}"
instant_text_window_hours = 24
quiet_hours = { default = "00:00-23:59" }

[[business]]
id = "bench"
name = "Bench Plumbing"
time_zone = "America/Chicago"
numbers = ["+15125550100"]
ring_phone = "+15125550199"
ring_seconds = 20
hours = { mon = "00:00-24:00", tue = "00:00-24:00", wed = "00:00-24:00", thu = "00:00-24:00", fri = "00:00-24:00", sat = "00:00-24:00", sun = "00:00-24:00" }
senders = { "+15125550100" = { registration = "10dlc", campaign_id = "CBENCH01", status = "registered", mps = 100000 } }

[[business.follow_ups]]
after = "30m"
template = "follow_up_1.txt"

[[business.follow_ups]]
after = "2h"
template = "follow_up_2.txt"

[[business.follow_ups]]
at = "next_opening"
template = "follow_up_3.txt"
"#;

pub fn render_config() -> String {
    let prompts = service::workspace_dir().join("prompts");
    let prompts = prompts.canonicalize().unwrap_or(prompts);
    TIMER_CONFIG_TEMPLATE.replace("{prompts_dir}", &prompts.display().to_string())
}

/// What to run.
#[derive(Debug, Clone)]
pub struct TimerPlan {
    /// Pending timers to reach before the stream falls due.
    pub pending: u64,
    /// Stream timers falling due per second.
    pub rate: f64,
    /// How long the stream lasts.
    pub window: Duration,
    /// From seeding the stream to its first timer falling due.
    pub lead_in: Duration,
    /// After the window, how long to wait for the last texts.
    pub drain: Duration,
}

impl TimerPlan {
    pub fn stream_jobs(&self) -> u64 {
        ((self.rate * self.window.as_secs_f64()).round() as u64).max(1)
    }

    /// The pending counts at which RSS is sampled after start-up.
    pub fn levels(&self) -> Vec<u64> {
        let mut levels: Vec<u64> = [10_000, self.pending]
            .into_iter()
            .filter(|&n| n > self.stream_jobs() && n <= self.pending)
            .collect();
        levels.dedup();
        levels
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        if !(self.rate.is_finite() && self.rate > 0.0) {
            bail!("--timer-rate must be positive");
        }
        if self.window.is_zero() {
            bail!("--timer-window must be positive");
        }
        if self.stream_jobs() > self.pending {
            bail!(
                "--timers {} is fewer than the {} timers the stream needs (rate × window)",
                self.pending,
                self.stream_jobs()
            );
        }
        if self.pending > MAX_PENDING {
            bail!("--timers: at most {MAX_PENDING}");
        }
        Ok(())
    }
}
