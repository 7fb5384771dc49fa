//! The job queue's and the send recorder's tests, on SQLite and (with
//! `RINGBACK_TEST_POSTGRES_URL`) PostgreSQL.
//!
//! Apart from the code so that each file holds one concern.

use super::*;
use crate::domain::{MessageKind, MessageStatus};
use crate::store::NewMessage;

/// Runs `case` on a fresh SQLite file, then on a fresh PostgreSQL
/// database when RINGBACK_TEST_POSTGRES_URL is set.
async fn on_both_stores<F, Fut>(name: &str, case: F)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    case(format!("sqlite://{}", dir.path().join("t.db").display())).await;
    if let Some(pg) = crate::store::fresh_postgres_database(name).await {
        case(pg).await;
    }
}

/// An instant text from business "b" to `to`.
fn instant(
    lead_id: Option<i64>,
    to: String,
    status: MessageStatus,
    now: DateTime<Utc>,
) -> NewMessage {
    NewMessage {
        business_id: "b".into(),
        lead_id,
        direction: "outbound",
        kind: MessageKind::Instant,
        to,
        from: "+15125550100".into(),
        body: "hi".into(),
        status,
        suppress_reason: None,
        provider: None,
        provider_sid: None,
        trigger_at: now,
        created_at: now,
    }
}

/// Several jobs in one statement: the new ones are counted, a key
/// already queued is skipped (not an error), and all land as pending.
#[tokio::test]
async fn enqueue_many_skips_existing_keys_and_counts_the_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("j.db").display());
    let store = Store::connect(&url, &Default::default()).await.unwrap();
    store.migrate().await.unwrap();
    let now = Utc::now();
    let job = |k: &str| NewJob {
        kind: "test",
        lead_id: None,
        unique_key: k.into(),
        payload: "{}".into(),
        run_at: now,
        max_attempts: 3,
        sender: None,
        priority: 3,
    };
    let mut tx = store.begin().await.unwrap();
    assert!(tx.enqueue(&job("a"), now).await.unwrap());
    let new = tx
        .enqueue_many(&[job("a"), job("b"), job("c")], now)
        .await
        .unwrap();
    assert_eq!(new, 2, "a was already queued");
    assert!(!tx.enqueue(&job("b"), now).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(store.count("jobs").await.unwrap(), 3);
    for k in ["a", "b", "c"] {
        let (status, attempts, _) = store.job_status(k).await.unwrap().unwrap();
        assert_eq!((status, attempts), (JobStatus::Pending, 0), "{k}");
    }
}

/// A worker whose lease was taken over cannot put the message back to
/// `queued`: that would erase the in-doubt mark of the new owner's
/// attempt. On PostgreSQL too when RINGBACK_TEST_POSTGRES_URL is set.
#[tokio::test]
async fn a_send_error_after_a_lost_lease_leaves_the_message_alone() {
    on_both_stores("a_send_error_after_a_lost_lease", send_error_case).await;
}

/// A migrated store at `url` holding one text in `status` and its send job
/// (three attempts), due `now`. Returns the store and the message id.
async fn store_with_one_text(url: &str, status: MessageStatus, now: DateTime<Utc>) -> (Store, i64) {
    let store = Store::connect(url, &Default::default()).await.unwrap();
    store.migrate().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let message = tx
        .insert_message(&instant(None, "+15125550123".into(), status, now))
        .await
        .unwrap();
    let job = NewJob {
        kind: "send_message",
        lead_id: None,
        unique_key: format!("send:{message}"),
        payload: "{}".into(),
        run_at: now,
        max_attempts: 3,
        sender: None,
        priority: 3,
    };
    assert!(tx.enqueue(&job, now).await.unwrap());
    tx.commit().await.unwrap();
    (store, message)
}

async fn send_error_case(url: String) {
    let now = Utc::now();
    let (store, message) = store_with_one_text(&url, MessageStatus::Sending, now).await;
    let held = store
        .claim_jobs(now, now + chrono::Duration::minutes(5), 1, &|_| {
            crate::core::compliance::pacing::Pace::of(1.0)
        })
        .await
        .unwrap()
        .remove(0);
    let mut stale = held.clone();
    stale.lease_token -= 1;
    let status = || async { store.message(message).await.unwrap().unwrap().status };
    assert!(store
        .record_send_error(&stale, message, true, None, "429", now)
        .await
        .unwrap()
        .is_none());
    assert_eq!(status().await, MessageStatus::Sending, "still in doubt");
    assert!(store
        .record_send_error(&held, message, true, None, "429", now)
        .await
        .unwrap()
        .is_some());
    assert_eq!(status().await, MessageStatus::Queued);
}

/// Recording a batch whose size is not a power of two (71 sends: chunks
/// of 64, 4, 2 and 1): every message is recorded with its own sid, each lead's
/// first text moves it to `texted`, and a job whose lease was taken
/// over is reported as not held and left running. On PostgreSQL too
/// when RINGBACK_TEST_POSTGRES_URL is set.
#[tokio::test]
async fn record_sent_batch_records_every_send_and_reports_lost_leases() {
    on_both_stores(
        "record_sent_batch_records_every_send",
        record_sent_batch_case,
    )
    .await;
}

async fn record_sent_batch_case(url: String) {
    let url = url.as_str();
    use crate::domain::LeadStatus;
    use crate::store::NewLead;
    let store = Store::connect(url, &Default::default()).await.unwrap();
    store.migrate().await.unwrap();
    let now = Utc::now();
    let mut tx = store.begin().await.unwrap();
    let mut sends = Vec::new();
    for i in 0..71 {
        let caller = format!("+1512555{i:04}");
        let lead = tx
            .insert_lead(&NewLead {
                business_id: "b".into(),
                caller: caller.clone(),
                tracking_number: "+15125550100".into(),
                status: LeadStatus::New,
                call_count: 1,
                at: now,
                window_ends_at: now + chrono::Duration::hours(24),
                suppressed_reason: None,
            })
            .await
            .unwrap();
        let message = tx
            .insert_message(&instant(Some(lead), caller, MessageStatus::Queued, now))
            .await
            .unwrap();
        let job = NewJob {
            kind: "send_message",
            lead_id: Some(lead),
            unique_key: format!("send:{message}"),
            payload: "{}".into(),
            run_at: now,
            max_attempts: 3,
            sender: None,
            priority: 3,
        };
        assert!(tx.enqueue(&job, now).await.unwrap());
        sends.push((lead, message));
    }
    tx.commit().await.unwrap();
    let later = now + chrono::Duration::seconds(1);
    let mut jobs = store
        .claim_jobs(later, later + chrono::Duration::minutes(5), 100, &|_| {
            crate::core::compliance::pacing::Pace::of(1.0)
        })
        .await
        .unwrap();
    assert_eq!(jobs.len(), 71);
    jobs.sort_by_key(|j| j.id);
    // Two leases were taken over (their tokens moved on): one in the
    // first chunk, one in the chunk of four.
    let lost = [4, 66];
    for i in lost {
        jobs[i].lease_token -= 1;
    }
    let records: Vec<SentRecord> = jobs
        .iter()
        .zip(&sends)
        .enumerate()
        .map(|(i, (job, (lead, message)))| SentRecord {
            job: job.clone(),
            message_id: *message,
            // The last send is not a lead's first text.
            texted_lead: (i < 70).then_some(*lead),
            provider: "twilio".into(),
            sid: format!("SM{i:032}"),
            at: later,
        })
        .collect();
    let held = store.record_sent_batch(&records).await.unwrap();
    let want: Vec<bool> = (0..71).map(|i| !lost.contains(&i)).collect();
    assert_eq!(held, want);
    for (i, (lead, message)) in sends.iter().enumerate() {
        let m = store.message(*message).await.unwrap().unwrap();
        assert_eq!(m.status, MessageStatus::Sent, "message {i}");
        assert_eq!(
            m.provider_sid.as_deref(),
            Some(format!("SM{i:032}").as_str())
        );
        let l = store.lead(*lead).await.unwrap().unwrap();
        let want = if i < 70 {
            LeadStatus::Texted
        } else {
            LeadStatus::New
        };
        assert_eq!(l.status, want, "lead {i}");
        let (status, _, _) = store
            .job_status(&format!("send:{message}"))
            .await
            .unwrap()
            .unwrap();
        let want = if lost.contains(&i) {
            JobStatus::Running
        } else {
            JobStatus::Done
        };
        assert_eq!(status, want, "job {i}");
    }
}

/// A job enqueued through one store wakes a listener connected through
/// another (two instances), via NOTIFY at commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueue_notifies_listeners_on_postgres() {
    let Some(url) =
        crate::store::fresh_postgres_database("enqueue_notifies_listeners_on_postgres").await
    else {
        return;
    };
    let a = Store::connect(&url, &Default::default()).await.unwrap();
    a.migrate().await.unwrap();
    let b = Store::connect(&url, &Default::default()).await.unwrap();
    let mut listener = b.job_listener().await.unwrap().expect("postgres listens");
    let now = Utc::now();
    let job = NewJob {
        kind: "test",
        lead_id: None,
        unique_key: "k1".into(),
        payload: "{}".into(),
        run_at: now,
        max_attempts: 3,
        sender: None,
        priority: 3,
    };
    let mut tx = a.begin().await.unwrap();
    assert!(tx.enqueue(&job, now).await.unwrap());
    tx.commit().await.unwrap();
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), listener.recv())
        .await
        .expect("notified")
        .unwrap();
    assert_eq!(n.channel(), JOBS_CHANNEL);
    // A duplicate key enqueues nothing and announces nothing.
    let mut tx = a.begin().await.unwrap();
    assert!(!tx.enqueue(&job, now).await.unwrap());
    tx.commit().await.unwrap();
    assert!(listener.next_buffered().is_none());
}

/// A text whose job was claimed again and again by workers that died before
/// asking the carrier has used none of its tries: the give-up count is the
/// carrier's, not the claims'.
#[tokio::test]
async fn claims_lost_to_crashes_are_not_tries_at_the_carrier() {
    on_both_stores("claims_not_tries", |url| async move {
        let mut now = Utc::now();
        let (store, message) = store_with_one_text(&url, MessageStatus::Queued, now).await;
        let pace = |_: &str| crate::core::compliance::pacing::Pace::of(1.0);
        let mut held = None;
        for _ in 0..5 {
            let lease = now + chrono::Duration::seconds(30);
            held = Some(
                store
                    .claim_jobs(now, lease, 1, &pace)
                    .await
                    .unwrap()
                    .remove(0),
            );
            now = lease + chrono::Duration::seconds(1); // the worker died
        }
        let held = held.unwrap();
        assert_eq!(held.attempts, 5, "five claims");
        let tries = store
            .record_send_error(&held, message, true, None, "timeout", now)
            .await
            .unwrap();
        assert_eq!(tries, Some(0), "but no try at the carrier yet");
    })
    .await;
}
