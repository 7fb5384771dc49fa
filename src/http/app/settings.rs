//! The owner's settings view (`/app/settings`, owner only): what this
//! instance runs with, the way the owner checks an edit to `ringback.toml`
//! or `prompts/` before deploying it. Each business's hours, on-call
//! roster, sending numbers (registration, pace, at risk), and every texted
//! template rendered with sample values, its segments and encoding, and
//! the template lint's findings (the same lint `check-config` runs).

use super::scorecard::businesses;
use super::view;
use super::{html, Signed};
use crate::config::{Business, Registration};
use crate::core::compliance::lint::{self, Encoding, Severity};
use crate::core::people::Role;
use crate::http::AppState;
use crate::store::SenderHealthRow;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};

pub async fn page(State(s): State<AppState>, who: Signed) -> Response {
    if who.person.role != Role::Owner {
        return view::error(
            StatusCode::FORBIDDEN,
            "Only the owner can see the business's settings.",
        );
    }
    let list = match businesses(&s, &who, None) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let health = match s.shell.store.sender_health().await {
        Ok(h) => h,
        Err(e) => return view::store_error(e),
    };
    html(view::page(
        "Settings",
        Some(&who),
        html! {
            h1 { "Settings" }
            p.hint {
                "What this instance runs with, from ringback.toml and prompts/. "
                "Edit those files, run ringback check-config, and deploy to change it."
            }
            @for b in list { (business(b, &health)) }
        },
    ))
}

/// "1 text a second", "1 text every 4 s".
fn pace(mps: f64) -> String {
    if mps == 1.0 {
        "1 text a second".into()
    } else if mps > 1.0 {
        format!("{mps} texts a second")
    } else if mps > 0.0 {
        format!("1 text every {:.0} s", 1.0 / mps)
    } else {
        "does not send".into()
    }
}

fn business(b: &Business, health: &[SenderHealthRow]) -> Markup {
    let texted = lint::texted_templates(b);
    html! {
        section.settings aria-labelledby={ "settings-" (b.id) } {
            h2 id={ "settings-" (b.id) } { (b.name) }
            h3 { "Hours (" (b.time_zone.name()) ")" }
            table.hours {
                tbody { @for (day, hours) in b.hours.week() { tr { th scope="row" { (day) } td { (hours) } } } }
            }
            h3 { "On call" }
            @match &b.roster {
                None => p.empty { "No on-call roster: an emergency reaches the office, nobody is paged." },
                Some(r) => {
                    p { "Owner (last in every chain): " (r.owner().name) ". Unacknowledged pages repeat "
                        (r.repages()) " times, " (r.ack_timeout().num_minutes()) " minutes apart." }
                    table.roster {
                        thead { tr { th scope="col" { "Rotation" } th scope="col" { "When" } th scope="col" { "Primary" } th scope="col" { "Backups" } } }
                        tbody {
                            @for rot in r.rotations() {
                                tr {
                                    td { (rot.name) }
                                    td { (rot.describe()) }
                                    td { (r.people()[rot.primary].name) }
                                    td { (rot.backups.iter().map(|i| r.people()[*i].name.as_str()).collect::<Vec<_>>().join(", ")) }
                                }
                            }
                        }
                    }
                    @let gaps = r.coverage_gaps();
                    @if !gaps.is_empty() {
                        p.warn role="note" { "Only the owner is paged during: " (gaps.join("; ")) }
                    }
                }
            }
            h3 { "Sending numbers" }
            table.senders {
                thead { tr { th scope="col" { "Number" } th scope="col" { "Registration" } th scope="col" { "Status" } th scope="col" { "Pace" } th scope="col" { "Health" } } }
                tbody {
                    @for n in &b.numbers {
                        @let n = n.to_string();
                        @let sender = b.sender(&n);
                        @let h = health.iter().find(|h| h.sender == n);
                        tr data-sender=(n) {
                            td { (n) }
                            td { @match sender.map(|s| &s.registration) {
                                Some(Registration::TenDlc { campaign_id }) => { "10DLC, campaign " (campaign_id) },
                                Some(Registration::TollFree) => "toll-free",
                                Some(Registration::None) | None => "none",
                            } }
                            td { (sender.map_or("unregistered", |s| s.status.as_str())) }
                            td { (sender.map_or_else(|| pace(crate::core::compliance::pacing::DEFAULT_MPS), |s| pace(s.mps))) }
                            td {
                                @match h {
                                    Some(h) if h.at_risk => {
                                        span.tag.alarm { "at risk" }
                                        " (carrier error " (h.last_error_code.as_deref().unwrap_or("?"))
                                        ", " (h.error_count) " so far)"
                                    },
                                    _ => "ok",
                                }
                            }
                        }
                    }
                }
            }
            h3 { "Texts" }
            @for t in &texted {
                @let findings = lint::lint_texted(b, t);
                @let units = lint::segments(&t.sample);
                article.template data-template=(t.template.file) {
                    // The file's name; its whole path on hover.
                    h4 title=(t.template.file) {
                        (std::path::Path::new(&t.template.file).file_name().map_or(t.template.file.as_str(), |n| n.to_str().unwrap_or_default()))
                    }
                    p.sample { (t.sample) }
                    p.meta {
                        (units) " segment" @if units != 1 { "s" } ", "
                        @match lint::encoding(&t.sample) {
                            Encoding::Gsm7 => "GSM-7",
                            Encoding::Ucs2 => "UCS-2 (a character outside GSM-7 halves the room per segment)",
                        }
                        ", " (t.sample.chars().count()) " characters"
                    }
                    @if findings.is_empty() {
                        p.ok { "No findings." }
                    } @else {
                        ul.findings {
                            @for f in &findings {
                                li class=(if f.severity == Severity::Error { "finding error" } else { "finding warn" }) {
                                    strong { (if f.severity == Severity::Error { "Error: " } else { "Warning: " }) }
                                    (f.message) ". Fix: " (f.fix)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
