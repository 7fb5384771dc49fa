//! What a carrier holds and decides, whatever its wire format: the messages
//! it accepted and the calls it placed, the faults it was told to inject,
//! how slow it is, and what it counted. A wire-format module (`twilio`, one
//! day `telnyx`) parses a request, asks the [`Carrier`] what happens, and
//! renders the answer the way its API would.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::Rng as _;

/// A message the carrier accepted (recorded even when its answer was then
/// lost, garbled or late: the carrier has it either way).
#[derive(Debug, Clone)]
pub struct Sent {
    pub sid: String,
    pub to: String,
    pub from: String,
    pub body: String,
    /// Where the sender asked for delivery receipts (Twilio's
    /// `StatusCallback`, Telnyx's `webhook_url`).
    pub status_callback: Option<String>,
    /// When the carrier took it: after any send delay, before any latency.
    pub at: Instant,
    /// The creation time the carrier's API reports.
    pub date_created: DateTime<Utc>,
}

/// A call the carrier placed.
#[derive(Debug, Clone)]
pub struct Placed {
    pub sid: String,
    pub to: String,
    pub from: String,
    /// The call-flow markup (TwiML, TeXML) or the URL to fetch it from.
    pub instructions: String,
    pub at: Instant,
}

/// What the next send request gets instead of a plain acceptance; scripts
/// are used up in order, one per send, before any random fault applies.
#[derive(Debug, Clone)]
pub enum Script {
    /// An error answer with this HTTP status and carrier error code (and
    /// `Retry-After` seconds); the message is not recorded.
    Fail {
        status: u16,
        code: u32,
        retry_after: Option<u64>,
    },
    /// Accepted and recorded, but the answer is garbage: the client cannot
    /// know it went out (like a proxy error after the carrier took it).
    AcceptButGarble,
    /// Accepted and recorded, then the answer is held back this long (past
    /// the client's timeout).
    AcceptButHang(Duration),
    /// Accepted and recorded, then answered with a server error, as if the
    /// reply was lost: the client must find the message by listing rather
    /// than send it again.
    AcceptButLoseReply,
}

/// Why a carrier refuses a recipient. Each wire format has its own code for
/// each (Twilio: 21211, 21610, 21614).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The `To` is not an E.164 number.
    InvalidNumber,
    /// The recipient opted out at the carrier (texted STOP to the sender).
    Unsubscribed,
    /// The number cannot take texts (a landline).
    NotMobile,
}

/// What the carrier saw, as the bench's report needs it.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Per recipient: when its first accepted message arrived, and how many
    /// messages were accepted for it.
    pub recipients: HashMap<String, (Instant, u32)>,
    /// Accepted messages per `From` value.
    pub senders: HashMap<String, u64>,
    /// When each accepted message arrived, per `From` value, in order.
    pub arrivals_by_sender: HashMap<String, Vec<Instant>>,
    pub accepted: u64,
    /// Sends refused by the random fail rate (429 or 500).
    pub injected_failures: u64,
    /// Accepted messages whose reply was replaced by a server error.
    pub lost_replies: u64,
    /// Accepted messages whose reply was held back by the random hang rate.
    pub hangs: u64,
    /// Requests refused as a real carrier would (bad auth, missing or
    /// invalid parameters, refused recipients, unknown resources).
    pub rejected: u64,
    pub list_requests: u64,
    pub fetch_requests: u64,
}

/// How a wire-format module must answer a send ([`Carrier::take_send`]).
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    /// Accepted and recorded.
    Created,
    /// A scripted error; not recorded.
    Fail {
        status: u16,
        code: u32,
        retry_after: Option<u64>,
    },
    /// The recipient is refused; not recorded.
    Refused(Refusal),
    /// Injected: too many requests, retry after a second; not recorded.
    Throttled,
    /// Injected: server error before accepting; not recorded.
    Unavailable,
    /// Recorded, answered with a server error.
    LostReply,
    /// Recorded, answered with garbage.
    Garbled,
    /// Recorded, answered normally after this long.
    Hang(Duration),
}

/// A send request that passed the wire format's own checks.
pub(crate) struct Outgoing {
    pub sid: String,
    pub to: String,
    pub from: String,
    pub body: String,
    pub status_callback: Option<String>,
}

/// The state a carrier's API serves from; cheap to clone (shared).
#[derive(Clone, Default)]
pub struct Carrier {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    messages: Vec<Sent>,
    by_to: HashMap<String, Vec<usize>>,
    by_sid: HashMap<String, usize>,
    calls: Vec<Placed>,
    script: VecDeque<Script>,
    refused: HashMap<String, Refusal>,
    fail_rate: f64,
    lost_reply_rate: f64,
    hang_rate: f64,
    hang_for: Duration,
    latency: Duration,
    send_delay: Duration,
    list_delay: Duration,
    records_hidden: bool,
    requests: usize,
    sends_in_flight: usize,
    max_sends_in_flight: usize,
    injected_failures: u64,
    lost_replies: u64,
    hangs: u64,
    rejected: u64,
    list_requests: u64,
    fetch_requests: u64,
}

impl State {
    fn record(&mut self, sent: Sent) {
        let index = self.messages.len();
        self.by_sid.insert(sent.sid.clone(), index);
        self.by_to.entry(sent.to.clone()).or_default().push(index);
        self.messages.push(sent);
    }
}

/// Counts a send as in flight until dropped, however its answer ends (a
/// client that gives up drops the handler mid-sleep).
pub(crate) struct InFlight(Carrier);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.lock().sends_in_flight -= 1;
    }
}

impl Carrier {
    pub fn new() -> Carrier {
        Carrier::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding it must not hide the real failure.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    // ---- faults and delays ----------------------------------------------

    /// Queues what a coming send gets (see [`Script`]).
    pub fn push(&self, script: Script) {
        self.lock().script.push_back(script);
    }

    /// Refuses every send to `to` from now on, as the real carrier does for
    /// a number that opted out or cannot take texts.
    pub fn refuse(&self, to: &str, why: Refusal) {
        self.lock().refused.insert(to.to_string(), why);
    }

    /// Fraction (0..=1) of sends refused at random before being accepted,
    /// half `429 Retry-After: 1`, half server errors.
    pub fn set_fail_rate(&self, rate: f64) {
        self.lock().fail_rate = rate.clamp(0.0, 1.0);
    }

    /// Fraction (0..=1) of accepted sends answered with a server error, as
    /// if the reply was lost.
    pub fn set_lost_reply_rate(&self, rate: f64) {
        self.lock().lost_reply_rate = rate.clamp(0.0, 1.0);
    }

    /// Fraction (0..=1) of accepted sends whose answer is held back `hang`
    /// (past the client's timeout, when `hang` is longer): the carrier has
    /// the message, but the client cannot know it went out.
    pub fn set_hang_rate(&self, rate: f64, hang: Duration) {
        let mut s = self.lock();
        s.hang_rate = rate.clamp(0.0, 1.0);
        s.hang_for = hang;
    }

    /// Delay added to every answer after the request was handled (a real
    /// API answers in ~100-300 ms); messages are recorded on arrival.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Makes every send wait `d` before it is handled (a slow carrier API):
    /// a client that gives up first sent nothing.
    pub fn delay_sends(&self, d: Duration) {
        self.lock().send_delay = d;
    }

    /// Makes every message-list request take `d`.
    pub fn delay_lists(&self, d: Duration) {
        self.lock().list_delay = d;
    }

    /// While `hidden`, searches of sent messages find nothing, as when a
    /// carrier's records lag behind its sends (Telnyx detail records).
    pub fn hide_records(&self, hidden: bool) {
        self.lock().records_hidden = hidden;
    }

    pub(crate) fn records_hidden(&self) -> bool {
        self.lock().records_hidden
    }

    // ---- what it saw ----------------------------------------------------

    /// Every accepted message, oldest first.
    pub fn sent(&self) -> Vec<Sent> {
        self.lock().messages.clone()
    }

    /// The messages accepted for `to`, oldest first.
    pub fn sent_to(&self, to: &str) -> Vec<Sent> {
        let s = self.lock();
        s.by_to
            .get(to)
            .map(|ix| ix.iter().map(|&i| s.messages[i].clone()).collect())
            .unwrap_or_default()
    }

    /// The texts `to` got, oldest first.
    pub fn bodies_to(&self, to: &str) -> Vec<String> {
        self.sent_to(to).into_iter().map(|s| s.body).collect()
    }

    /// The messages accepted from the sending number `from`, oldest first.
    pub fn sent_from(&self, from: &str) -> Vec<Sent> {
        let s = self.lock();
        s.messages
            .iter()
            .filter(|m| m.from == from)
            .cloned()
            .collect()
    }

    /// When each message from `from` arrived, in order: the number's
    /// sending pace.
    pub fn arrivals_from(&self, from: &str) -> Vec<Instant> {
        let mut at: Vec<Instant> = self.sent_from(from).iter().map(|m| m.at).collect();
        at.sort();
        at
    }

    /// Calls placed, oldest first.
    pub fn calls(&self) -> Vec<Placed> {
        self.lock().calls.clone()
    }

    /// Send requests handled (past the wire format's checks and any send
    /// delay), including those that failed.
    pub fn requests(&self) -> usize {
        self.lock().requests
    }

    pub fn list_requests(&self) -> usize {
        self.lock().list_requests as usize
    }

    pub fn fetch_requests(&self) -> usize {
        self.lock().fetch_requests as usize
    }

    /// The most sends that were ever being answered at once.
    pub fn max_sends_in_flight(&self) -> usize {
        self.lock().max_sends_in_flight
    }

    /// How many of `expected` have had at least one message accepted.
    pub fn count_texted(&self, expected: &HashSet<String>) -> usize {
        let s = self.lock();
        if s.by_to.len() <= expected.len() {
            s.by_to.keys().filter(|to| expected.contains(*to)).count()
        } else {
            expected
                .iter()
                .filter(|to| s.by_to.contains_key(*to))
                .count()
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        let s = self.lock();
        let mut senders: HashMap<String, u64> = HashMap::new();
        let mut arrivals_by_sender: HashMap<String, Vec<Instant>> = HashMap::new();
        for m in &s.messages {
            *senders.entry(m.from.clone()).or_default() += 1;
            arrivals_by_sender
                .entry(m.from.clone())
                .or_default()
                .push(m.at);
        }
        for arrivals in arrivals_by_sender.values_mut() {
            arrivals.sort();
        }
        Snapshot {
            recipients: s
                .by_to
                .iter()
                .map(|(to, ix)| (to.clone(), (s.messages[ix[0]].at, ix.len() as u32)))
                .collect(),
            senders,
            arrivals_by_sender,
            accepted: s.messages.len() as u64,
            injected_failures: s.injected_failures,
            lost_replies: s.lost_replies,
            hangs: s.hangs,
            rejected: s.rejected,
            list_requests: s.list_requests,
            fetch_requests: s.fetch_requests,
        }
    }

    // ---- for the wire formats -------------------------------------------

    /// Counts a request the wire format refused (auth, parameters, ...).
    pub(crate) fn count_rejected(&self) {
        self.lock().rejected += 1;
    }

    /// Waits out the configured latency before an answer goes back.
    pub(crate) async fn latency(&self) {
        let d = self.lock().latency;
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
    }

    /// A send starts: counted in flight until the guard drops, after the
    /// send delay.
    pub(crate) async fn begin_send(&self) -> InFlight {
        let delay = {
            let mut s = self.lock();
            s.sends_in_flight += 1;
            s.max_sends_in_flight = s.max_sends_in_flight.max(s.sends_in_flight);
            s.send_delay
        };
        let guard = InFlight(self.clone());
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        guard
    }

    /// Decides a send (script, refused recipient, random faults) and
    /// records the message if the carrier takes it.
    pub(crate) fn take_send(&self, out: Outgoing) -> (Answer, Sent) {
        let sent = Sent {
            sid: out.sid,
            to: out.to,
            from: out.from,
            body: out.body,
            status_callback: out.status_callback,
            at: Instant::now(),
            date_created: Utc::now(),
        };
        let mut s = self.lock();
        s.requests += 1;
        let mut rng = rand::rng();
        let answer = match s.script.pop_front() {
            Some(Script::Fail {
                status,
                code,
                retry_after,
            }) => Answer::Fail {
                status,
                code,
                retry_after,
            },
            Some(Script::AcceptButGarble) => Answer::Garbled,
            Some(Script::AcceptButHang(d)) => Answer::Hang(d),
            Some(Script::AcceptButLoseReply) => Answer::LostReply,
            None => {
                if let Some(&why) = s.refused.get(&sent.to) {
                    s.rejected += 1;
                    Answer::Refused(why)
                } else if s.fail_rate > 0.0 && rng.random_bool(s.fail_rate) {
                    s.injected_failures += 1;
                    if rng.random_bool(0.5) {
                        Answer::Throttled
                    } else {
                        Answer::Unavailable
                    }
                } else if s.lost_reply_rate > 0.0 && rng.random_bool(s.lost_reply_rate) {
                    Answer::LostReply
                } else if s.hang_rate > 0.0 && rng.random_bool(s.hang_rate) {
                    s.hangs += 1;
                    Answer::Hang(s.hang_for)
                } else {
                    Answer::Created
                }
            }
        };
        if matches!(answer, Answer::LostReply) {
            s.lost_replies += 1;
        }
        if matches!(
            answer,
            Answer::Created | Answer::LostReply | Answer::Garbled | Answer::Hang(_)
        ) {
            s.record(sent.clone());
        }
        (answer, sent)
    }

    /// Records a placed call.
    pub(crate) fn place_call(&self, call: Placed) {
        self.lock().calls.push(call);
    }

    /// A message-list request starts: counted, then the list delay.
    pub(crate) async fn begin_list(&self) {
        let delay = {
            let mut s = self.lock();
            s.list_requests += 1;
            s.list_delay
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }

    pub(crate) fn count_fetch(&self) {
        self.lock().fetch_requests += 1;
    }

    /// The accepted messages (to `to`, if given) that `keep` keeps, newest
    /// first, like the carriers list them.
    pub(crate) fn messages_newest_first(
        &self,
        to: Option<&str>,
        keep: impl Fn(&Sent) -> bool,
    ) -> Vec<Sent> {
        let s = self.lock();
        let pick = |i: &usize| Some(&s.messages[*i]).filter(|m| keep(m)).cloned();
        match to {
            Some(to) => s
                .by_to
                .get(to)
                .map(|ix| ix.iter().rev().filter_map(pick).collect())
                .unwrap_or_default(),
            None => (0..s.messages.len())
                .rev()
                .filter_map(|i| pick(&i))
                .collect(),
        }
    }

    /// One accepted message by its id.
    pub(crate) fn message(&self, sid: &str) -> Option<Sent> {
        let s = self.lock();
        s.by_sid.get(sid).map(|&i| s.messages[i].clone())
    }
}

/// `+` and 8 to 15 digits.
pub(crate) fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}
