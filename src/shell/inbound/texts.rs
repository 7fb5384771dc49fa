//! Texts from people: STOP/START/HELP with the consent ledger, an on-call
//! tech's ACK, and a customer's reply routed by intent.

use super::Received;
use crate::config::Business;
use crate::core::conversation::{self, Party};
use crate::core::jobs::{Job, Scheduled};
use crate::domain::{LeadStatus, MessageKind, MessageStatus};
use crate::shell::outbox::{self, Outbound};
use crate::shell::Shell;
use crate::store::{NewLead, NewMessage, StoreError, Tx};
use chrono::{DateTime, Utc};

/// What became of an inbound text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundOutcome {
    Duplicate,
    OptedOut {
        confirmation_queued: bool,
    },
    OptedIn {
        confirmation_queued: bool,
    },
    Help,
    /// From on-call staff: an ACK to a page (or a note left for a person).
    Staff {
        acked: bool,
    },
    /// From a number that is never a customer (other staff, one of our own
    /// numbers, a blocked number): kept, no lead, nothing sent back.
    NotACustomer {
        who: Party,
    },
    Message {
        lead_id: i64,
        intent: crate::core::classify::Intent,
    },
}

/// An inbound text.
pub struct InboundSms<'a> {
    pub business: &'a Business,
    pub message_sid: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub body: &'a str,
}

impl Shell {
    /// A customer texted us. STOP/START/HELP are handled here, atomically
    /// with the consent ledger; anything else engages the lead.
    pub async fn inbound_sms(
        &self,
        m: &InboundSms<'_>,
        rx: &Received<'_>,
    ) -> Result<InboundOutcome, StoreError> {
        use crate::core::classify::{keyword, Keyword};
        use crate::domain::ConsentAction;
        let now = self.now();
        let b = m.business;
        let Some(mut tx) = self.begin_webhook(rx, Some(&b.id), now).await? else {
            return Ok(InboundOutcome::Duplicate);
        };
        match conversation::party(&self.config, b, m.from) {
            Party::Customer => {}
            // An on-call tech answering a page is staff, not a lead.
            Party::OnCall if keyword(m.body).is_none() => {
                let from =
                    crate::domain::PhoneNumber::parse(m.from).expect("a roster phone parses");
                let acked = crate::shell::emergency::staff_text(
                    &mut tx,
                    &self.config,
                    &self.metrics,
                    b,
                    &from,
                    m.body,
                    now,
                )
                .await?;
                tx.commit().await?;
                self.wake.notify_one();
                return Ok(InboundOutcome::Staff { acked });
            }
            who => {
                // Never a customer lead, never an automatic reply. A staff
                // member's own STOP/START still counts for texts to them.
                if matches!(who, Party::OnCall | Party::Staff) {
                    if let Some(action) = match keyword(m.body) {
                        Some(Keyword::Stop) => Some(ConsentAction::OptOut),
                        Some(Keyword::Start) => Some(ConsentAction::OptIn),
                        _ => None,
                    } {
                        tx.lock_contact(&b.id, m.from, now).await?;
                        tx.record_consent(&b.id, m.from, action, "keyword", Some(m.body), now)
                            .await?;
                    }
                }
                crate::shell::emergency::keep_text_without_lead(
                    &mut tx, b, m.from, m.to, m.body, now,
                )
                .await?;
                tx.commit().await?;
                tracing::info!(from = %crate::domain::mask(m.from), ?who, "text from a number that is never a customer: kept, no lead, no reply");
                return Ok(InboundOutcome::NotACustomer { who });
            }
        }
        // Whatever carriers said before, a number that texts us takes texts.
        tx.clear_unreachable(&b.id, m.from).await?;
        tx.lock_contact(&b.id, m.from, now).await?;
        let consent = tx.consent_state(&b.id, m.from).await?;
        let window = self.config.service.instant_text_window;
        let latest = tx.latest_lead(&b.id, m.from).await?;
        let lead = match latest {
            Some(l) if conversation::joins_lead(Some(&l), now, window) => l,
            _ => {
                // Someone texted first: a new lead.
                let id = tx
                    .insert_lead(&NewLead {
                        business_id: b.id.clone(),
                        caller: m.from.to_string(),
                        tracking_number: m.to.to_string(),
                        status: LeadStatus::Engaged,
                        call_count: 0,
                        at: now,
                        window_ends_at: now + window,
                        suppressed_reason: None,
                    })
                    .await?;
                tx.lead_event(
                    id,
                    "texted_first",
                    "the customer texted before calling",
                    now,
                )
                .await?;
                tx.lead(id).await?.expect("just inserted")
            }
        };
        tx.insert_message(&NewMessage {
            business_id: b.id.clone(),
            lead_id: Some(lead.id),
            direction: "inbound",
            kind: MessageKind::Inbound,
            to: m.to.to_string(),
            from: m.from.to_string(),
            body: m.body.to_string(),
            status: MessageStatus::Received,
            suppress_reason: None,
            provider: Some("twilio".into()),
            provider_sid: Some(m.message_sid.to_string()),
            trigger_at: now,
            created_at: now,
        })
        .await?;
        let classification = self.policy.classifier.classify(m.body);
        let lang = classification.language;
        let decision = conversation::on_text(keyword(m.body), &classification, consent);
        if let Some((action, source)) = decision.consent {
            tx.record_consent(&b.id, m.from, action, source, Some(m.body), now)
                .await?;
            let event = match action {
                ConsentAction::OptOut => Some("opted_out"),
                ConsentAction::OptIn => Some("opted_in"),
                ConsentAction::Help => None,
            };
            if let Some(event) = event {
                tx.lead_event(lead.id, event, m.body, now).await?;
            }
        }
        // The one text back, if any: (kind, body).
        let vars = b.vars(m.to);
        let words = |name: &str, original| conversation::in_language(b, lang, name, original);
        let mut queued: Option<(MessageKind, String)> = decision.owed.map(|kind| {
            let t = &b.templates;
            let body = match kind {
                MessageKind::OptOutConfirmation => {
                    let mut body =
                        words("opt_out_confirmation", &t.opt_out_confirmation).render(&vars);
                    if let Some(hazard) = decision.emergency {
                        // No other text may follow an opt-out: the safety
                        // advice rides in its one confirmation.
                        let advice = crate::core::escalation::in_language(
                            &b.escalation,
                            &b.translations,
                            lang,
                        )
                        .safety(
                            hazard,
                            &b.name,
                            crate::core::escalation::Paging::Now,
                        );
                        body = format!("{body} {advice}");
                    }
                    body
                }
                MessageKind::OptInConfirmation => {
                    words("opt_in_confirmation", &t.opt_in_confirmation).render(&vars)
                }
                _ => words("help_reply", &t.help_reply).render(&vars),
            };
            (kind, body)
        });
        let outcome = match decision.consent.map(|(a, _)| a) {
            Some(ConsentAction::OptOut) => InboundOutcome::OptedOut {
                confirmation_queued: decision.owed.is_some(),
            },
            Some(ConsentAction::OptIn) => InboundOutcome::OptedIn {
                confirmation_queued: decision.owed.is_some(),
            },
            Some(ConsentAction::Help) => InboundOutcome::Help,
            None => {
                let plan = self
                    .route_reply(&mut tx, b, &lead, m, &classification, now)
                    .await?;
                if let Some(text) = plan.reply {
                    queued = Some((MessageKind::Reply, text));
                }
                InboundOutcome::Message {
                    lead_id: lead.id,
                    intent: classification.intent,
                }
            }
        };
        if let Some(hazard) = decision.emergency {
            // Opted out and in danger: the office and the on-call chain
            // still hear (staff pages never depend on the caller's consent).
            self.escalate_lead(
                &mut tx,
                b,
                lead.id,
                hazard,
                m.body,
                "reply:emergency",
                lang,
                now,
            )
            .await?;
        }
        if matches!(
            decision.consent,
            Some((ConsentAction::OptIn | ConsentAction::Help, _))
        ) {
            // Any text from them ends the follow-up sequence: they are
            // talking to us now (STOP already canceled everything).
            let mut l = lead.clone();
            if matches!(l.status, LeadStatus::New | LeadStatus::Texted) {
                l.status = LeadStatus::Engaged;
            }
            l.last_activity_at = now;
            tx.update_lead(&l, now).await?;
            tx.stop_follow_ups(l.id, "the customer replied", "customer_replied", now)
                .await?;
        }
        if let Some((kind, body)) = queued {
            // (The opt-out confirmation survives a second STOP, which cancels
            // the lead's jobs: it is the one text still owed.)
            let text = outbox::Text {
                business_id: &b.id,
                lead_id: Some(lead.id),
                kind,
                to: m.from,
                from: m.to,
                body,
                trigger_at: None,
            };
            outbox::queue(&mut tx, &self.config, Outbound::Text(text), now).await?;
        }
        tx.commit().await?;
        self.wake.notify_one();
        Ok(outcome)
    }
}

impl Shell {
    /// A reply that is not a carrier keyword: route it by intent (see
    /// [`conversation::on_reply`]) and apply the plan in `tx` — the lead, the end
    /// of its follow-ups, the office notice. The text back to the customer,
    /// if any, is returned in the plan for the caller to queue.
    pub(super) async fn route_reply(
        &self,
        tx: &mut Tx,
        b: &Business,
        lead: &crate::domain::Lead,
        m: &InboundSms<'_>,
        classification: &crate::core::classify::Classification,
        now: DateTime<Utc>,
    ) -> Result<conversation::ReplyPlan, StoreError> {
        let (transcripts, texts) = tx.what_they_said(lead.id).await?;
        let details = crate::core::packet::details(&transcripts, &texts);
        let escalation = match &lead.hazard {
            Some(_) => tx.latest_escalation(lead.id).await?.map(|(_, e)| e),
            None => None,
        };
        let emergency_live = conversation::emergency_live(lead, escalation.as_ref(), now);
        let mut plan = conversation::on_reply(&conversation::Reply {
            business: b,
            lead,
            intent: classification.intent,
            hazard: classification.hazard,
            possible_emergency: classification.possible_emergency,
            language: classification.language,
            details: &details,
            tracking_number: m.to,
            emergency_live,
        });
        plan.lead.last_activity_at = now;
        tx.update_lead(&plan.lead, now).await?;
        // Any reply ends the follow-up sequence, and restarts the clock
        // after which a quiet lead goes cold.
        tx.stop_follow_ups(lead.id, "the customer replied", "customer_replied", now)
            .await?;
        let cold = Job::ColdCheck { lead_id: lead.id };
        let at = now + self.config.service.cold_after;
        crate::shell::schedule(
            tx,
            &self.config,
            &[Scheduled::for_lead(cold, lead.id, at)],
            now,
        )
        .await?;
        if !plan.lead.status.is_open() {
            crate::shell::emergency::cancel_for_lead(tx, &self.config, &self.metrics, lead.id, now)
                .await?;
        }
        tx.lead_event(
            lead.id,
            &format!("reply:{}", classification.intent.as_str()),
            m.body,
            now,
        )
        .await?;
        if plan.event != "handed_to_office" {
            tx.lead_event(lead.id, &plan.event, "", now).await?;
        }
        if let Some(notice) = plan.notify {
            let packet = crate::core::packet::Packet::build(&crate::core::packet::PacketInput {
                business: b,
                lead: &plan.lead,
                transcripts: &transcripts,
                texts: &texts,
                unreachable: false,
            });
            if notice == conversation::OfficeNotice::Emergency {
                // The caller's safety text and the tech's page first: they
                // take the sending number's next slots, the office after.
                crate::shell::emergency::start(
                    tx,
                    &self.config,
                    &self.metrics,
                    b,
                    &plan.lead,
                    classification
                        .hazard
                        .unwrap_or(crate::core::classify::Hazard::Other),
                    m.body,
                    packet.location.as_deref(),
                    classification.language,
                    now,
                )
                .await?;
            }
            self.notify_office(tx, b, &plan.lead, notice, &packet, now)
                .await?;
        }
        Ok(plan)
    }

    /// Tells the office: the packet goes on the lead's timeline (the admin
    /// API shows it) and, if the business has an office phone, as a text.
    pub(crate) async fn notify_office(
        &self,
        tx: &mut Tx,
        b: &Business,
        lead: &crate::domain::Lead,
        notice: conversation::OfficeNotice,
        packet: &crate::core::packet::Packet,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let body = packet.summary(notice.headline());
        tx.lead_event(lead.id, "office_notice", &body, now).await?;
        let Some(office) = b.office_phone() else {
            return Ok(());
        };
        // (Staff-facing: the caller opting out does not stop the office
        // hearing about them.)
        let kind = match notice {
            conversation::OfficeNotice::Emergency => MessageKind::EmergencyNotice,
            _ => MessageKind::OfficeNotice,
        };
        let text = outbox::Text {
            business_id: &b.id,
            lead_id: Some(lead.id),
            kind,
            to: office.as_str(),
            from: &lead.tracking_number,
            body,
            trigger_at: None,
        };
        outbox::queue(tx, &self.config, Outbound::Text(text), now).await?;
        tracing::info!(lead = lead.id, notice = notice.headline(), packet = %packet.log_line(), "office notified");
        Ok(())
    }
}
