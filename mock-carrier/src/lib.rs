//! A stand-in for the carriers' HTTP APIs, in process, for ringback's
//! tests and its bench: no test needs the internet or an account.
//!
//! Two layers:
//! * [`Carrier`] is carrier-neutral: the messages accepted (with when each
//!   arrived, so a test can check a sending number's pace), the calls
//!   placed, scripted faults ([`Script`]), refused recipients
//!   ([`Refusal`]), random fault rates, delays and latency, and counters
//!   (requests, lists, fetches, sends in flight, [`Snapshot`]).
//! * A wire-format module serves one carrier's API over a `Carrier`:
//!   [`twilio`] and [`telnyx`] (JSON `POST /v2/messages` with Bearer auth,
//!   errors as `{"errors":[{"code":"40300","title":..,"detail":..}]}`,
//!   message detail records, TeXML calls, Ed25519-signed webhooks). Each
//!   parses its requests, calls the same `Carrier` (`begin_send`,
//!   `take_send`, `place_call`, ...) and renders the [`carrier`]'s answers
//!   in its own format, so every fault and counter works for both
//!   unchanged. Both can serve one `Carrier` (`start_on`).

pub mod carrier;
pub mod telnyx;
pub mod twilio;

pub use carrier::{Carrier, Placed, Refusal, Script, Sent, Snapshot};

/// Serves `app` on an ephemeral loopback port for as long as the runtime
/// runs; returns its base URL.
async fn serve(app: axum::Router) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            eprintln!("mock carrier API stopped: {err}");
        }
    });
    Ok(url)
}
