//! Live updates (`/app/events`): server-sent events that say "something
//! changed" when a lead's timeline grows (a call comes in, the caller
//! answers, a colleague acts). The page then fetches itself again and swaps
//! the parts marked `data-live-part`, keeping what is being typed.
//!
//! The signal is the newest timeline entry's id, read from the database, so
//! a change made on another instance is seen too. It is polled every
//! [`POLL`]: a new missed call shows within a second.

use super::view;
use super::Signed;
use crate::http::AppState;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::time::Duration;

/// How often an open page's stream looks for a change.
pub const POLL: Duration = Duration::from_millis(250);

#[derive(Deserialize)]
pub struct LiveQuery {
    lead: Option<i64>,
}

pub async fn events(State(s): State<AppState>, who: Signed, q: Query<LiveQuery>) -> Response {
    if let Some(id) = q.lead {
        match s.shell.store.lead(id).await {
            Ok(Some(l)) if who.sees(&l.business_id) => {}
            Ok(_) => return view::error(axum::http::StatusCode::NOT_FOUND, "No such lead."),
            Err(e) => return view::store_error(e),
        }
    }
    let store = s.shell.store.clone();
    let lead = q.lead;
    let start = match store.latest_change(lead).await {
        Ok(n) => n,
        Err(e) => return view::store_error(e),
    };
    let stream = futures::stream::unfold((store, start), move |(store, seen)| async move {
        let mut tick = tokio::time::interval(POLL);
        tick.tick().await;
        loop {
            tick.tick().await;
            match store.latest_change(lead).await {
                Ok(n) if n != seen => {
                    let e = Event::default().event("change").data(n.to_string());
                    return Some((Ok::<_, std::convert::Infallible>(e), (store, n)));
                }
                Ok(_) => {}
                // The database is away: end the stream; the browser
                // reconnects by itself.
                Err(_) => return None,
            }
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
