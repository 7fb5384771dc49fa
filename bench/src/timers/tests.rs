use super::*;

fn plan(pending: u64, rate: f64, window: u64) -> TimerPlan {
    TimerPlan {
        pending,
        rate,
        window: Duration::from_secs(window),
        lead_in: Duration::from_secs(10),
        drain: Duration::from_secs(10),
    }
}

#[test]
fn levels_are_10k_and_the_target_above_the_stream() {
    assert_eq!(plan(100_000, 300.0, 30).stream_jobs(), 9_000);
    assert_eq!(plan(100_000, 300.0, 30).levels(), vec![10_000, 100_000]);
    assert_eq!(plan(5_000, 100.0, 10).levels(), vec![5_000]);
    assert_eq!(plan(1_000, 100.0, 10).levels(), Vec::<u64>::new());
    assert!(plan(500, 100.0, 10).validate().is_err());
    assert!(plan(100_000, 300.0, 30).validate().is_ok());
}

#[test]
fn database_name_is_replaced_keeping_credentials_and_options() {
    assert_eq!(
        with_database("postgres://u:p@127.0.0.1:5432/ringback", "x").unwrap(),
        "postgres://u:p@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u@h/db?sslmode=disable", "x").unwrap(),
        "postgres://u@h/x?sslmode=disable"
    );
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432", "x").unwrap(),
        "postgres://postgres@127.0.0.1:5432/x"
    );
}

#[test]
fn reads_scheduler_totals_of_a_process() {
    let (cpu, _wait) = sched_totals(std::process::id()).unwrap();
    assert!(cpu > 0);
    assert!(sched_totals(u32::MAX).is_none());
}

#[test]
fn callers_are_new_york_numbers() {
    assert_eq!(caller(0), "+12122000000");
    assert_eq!(caller(99_999), "+12122099999");
    assert_eq!(
        ringback::core::compliance::quiet::area_code_info(&caller(0)).map(|(r, _)| r),
        Some("NY")
    );
}

#[test]
fn config_parses_with_three_steps_and_open_quiet_hours() {
    let text = render_config();
    let dir = service::workspace_dir();
    let config = ringback::config::Config::parse(&text, "ringback.toml", &dir)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(config.business(BUSINESS_ID).unwrap().follow_ups.len(), 3);
}

/// Seeding writes rows the service's own code reads: leads, and jobs
/// whose payload and key are those of `Job::FollowUp`.
#[tokio::test]
async fn seeded_rows_are_what_the_service_writes() {
    sqlx::any::install_default_drivers();
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db?mode=rwc", tmp.path().display());
    let store = ringback::store::Store::connect(&url, &Default::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let pool = AnyPool::connect(&url).await.unwrap();
    let due = now_ms() + 3_600_000;
    seed(
        &pool,
        0,
        3,
        Seed::Stream {
            first_due: due,
            step_us: 500_000,
        },
    )
    .await
    .unwrap();
    seed(
        &pool,
        3,
        5,
        Seed::Far {
            first_due: due + 7_200_000,
            step_us: 1_000_000,
        },
    )
    .await
    .unwrap();
    assert_eq!(pending_jobs(&pool).await.unwrap(), 5);
    let rows = sqlx::query("SELECT lead_id, unique_key, payload, due_at FROM jobs ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let expected = ringback::core::jobs::Job::FollowUp {
        lead_id: 1,
        step: 0,
    };
    let key: String = rows[0].try_get("unique_key").unwrap();
    let payload: String = rows[0].try_get("payload").unwrap();
    assert_eq!(key, expected.unique_key(chrono::Utc::now()));
    assert_eq!(payload, expected.payload());
    let due_at: Vec<i64> = rows.iter().map(|r| r.try_get("due_at").unwrap()).collect();
    assert_eq!(
        due_at,
        vec![due, due + 500, due + 1000, due + 7_200_000, due + 7_201_000]
    );
    let key: String = rows[4].try_get("unique_key").unwrap();
    assert_eq!(key, "follow_up:5:2");
    let lead = store.lead(1).await.unwrap().unwrap();
    assert_eq!(lead.caller, caller(0));
    assert_eq!(lead.status, ringback::domain::LeadStatus::Texted);
    assert_eq!(lead.first_call_at.timestamp_millis(), due - 30 * MINUTE_MS);
    let (sent, _) = store
        .capped_texts_since(BUSINESS_ID, &caller(0), lead.first_call_at)
        .await
        .unwrap();
    assert_eq!(sent, 1);
    store.close().await;
}
