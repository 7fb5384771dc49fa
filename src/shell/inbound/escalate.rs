//! An emergency reported in a voicemail, a text or the after-hours menu:
//! the lead is marked, the office told and the on-call chain paged.

use crate::config::Business;
use crate::core::classify::Language;
use crate::core::conversation;
use crate::domain::LeadStatus;
use crate::shell::Shell;
use crate::store::{StoreError, Tx};
use chrono::{DateTime, Utc};

impl Shell {
    /// Reads a voicemail transcript with the owner's rules; an emergency
    /// tells the office at once and pages the on-call chain.
    pub(super) async fn escalate_if_emergency(
        &self,
        tx: &mut Tx,
        b: &Business,
        lead_id: i64,
        transcript: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let c = self.policy.classifier.classify(transcript);
        if c.intent != crate::core::classify::Intent::Emergency {
            if c.possible_emergency {
                // Mentioned, not clearly happening: a person should look
                // now, without paging anyone.
                self.flag_possible_emergency(tx, b, lead_id, transcript, now)
                    .await?;
            }
            return Ok(false);
        }
        let hazard = c.hazard.unwrap_or(crate::core::classify::Hazard::Other);
        self.escalate_lead(
            tx,
            b,
            lead_id,
            hazard,
            transcript,
            "voicemail:emergency",
            c.language,
            now,
        )
        .await?;
        Ok(true)
    }

    /// Marks a lead as an emergency, tells the office and pages the chain.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn escalate_lead(
        &self,
        tx: &mut Tx,
        b: &Business,
        lead_id: i64,
        hazard: crate::core::classify::Hazard,
        said: &str,
        event: &str,
        lang: Language,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Some(mut lead) = tx.lead(lead_id).await? else {
            return Ok(());
        };
        lead.hazard = Some(hazard.as_str().to_string());
        lead.intent = Some("emergency".into());
        if matches!(
            lead.status,
            LeadStatus::New | LeadStatus::Texted | LeadStatus::Cold
        ) {
            lead.status = LeadStatus::Engaged;
        }
        tx.update_lead(&lead, now).await?;
        // "Still need a hand?" must never follow an emergency.
        tx.stop_follow_ups(lead.id, "emergency", "emergency", now)
            .await?;
        tx.lead_event(lead.id, event, said, now).await?;
        let (transcripts, texts) = tx.what_they_said(lead.id).await?;
        let packet = crate::core::packet::Packet::build(&crate::core::packet::PacketInput {
            business: b,
            lead: &lead,
            transcripts: &transcripts,
            texts: &texts,
            unreachable: false,
        });
        let started = crate::shell::emergency::start(
            tx,
            &self.config,
            &self.metrics,
            b,
            &lead,
            hazard,
            said,
            packet.location.as_deref(),
            lang,
            now,
        )
        .await?;
        // Already being paged (the menu, then the voicemail): one notice.
        if started != crate::shell::emergency::Started::AlreadyPaging {
            self.notify_office(
                tx,
                b,
                &lead,
                conversation::OfficeNotice::Emergency,
                &packet,
                now,
            )
            .await?;
        }
        Ok(())
    }

    /// A hazard mentioned uncertainly ("might be a gas smell?", a voicemail
    /// about a heater with nobody at risk): the office gets the packet
    /// flagged, to look now; nobody is paged.
    pub(super) async fn flag_possible_emergency(
        &self,
        tx: &mut Tx,
        b: &Business,
        lead_id: i64,
        said: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Some(lead) = tx.lead(lead_id).await? else {
            return Ok(());
        };
        tx.lead_event(lead.id, "possible_emergency", said, now)
            .await?;
        let (transcripts, texts) = tx.what_they_said(lead.id).await?;
        let packet = crate::core::packet::Packet::build(&crate::core::packet::PacketInput {
            business: b,
            lead: &lead,
            transcripts: &transcripts,
            texts: &texts,
            unreachable: false,
        });
        self.notify_office(
            tx,
            b,
            &lead,
            conversation::OfficeNotice::PossibleEmergency,
            &packet,
            now,
        )
        .await
    }
}
