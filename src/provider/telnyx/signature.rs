//! Telnyx webhook signatures (specs/providers.md §4.4): Ed25519 over
//! `"{telnyx-timestamp}|{raw body}"`, checked against the account's public
//! key, with the timestamp at most 300 s from now either way (a replayed
//! or a pre-dated webhook is refused).

use base64::{engine::general_purpose::STANDARD, Engine as _};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

/// How far the timestamp may be from our clock, either way.
pub const TOLERANCE_SECONDS: i64 = 300;

/// The private key of the development key pair: console mode and
/// `ringback simulate` sign with it. Public, like the Twilio development
/// secret: a service that trusts it sends no real text.
pub const DEV_SIGNING_SEED: [u8; 32] = *b"ringback-telnyx-development-key!";
/// Its public key, base64, as `TELNYX_PUBLIC_KEY` takes it.
pub const DEV_PUBLIC_KEY: &str = "N1tcKGTeFojdz7VzifueLQzRfNr+vXHTrXavUIqnuho=";

/// Why a webhook's signature is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    #[error("the telnyx-signature-ed25519 and telnyx-timestamp headers are required")]
    Missing,
    #[error("the telnyx-timestamp header is not Unix seconds")]
    BadTimestamp,
    #[error("the telnyx-timestamp is {0} s away from our clock (at most 300 s allowed): a replay or a wrong clock")]
    Stale(i64),
    #[error("the telnyx-signature-ed25519 header is not a base64 64-byte signature")]
    Malformed,
    #[error("the signature does not match the body")]
    Invalid,
}

/// Checks a webhook: `timestamp` and `signature` as the headers carry
/// them, `body` the exact bytes received, `now` Unix seconds.
pub fn verify(
    public_key: &[u8; 32],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), SigError> {
    let (Some(ts), Some(sig)) = (
        timestamp.map(str::trim).filter(|t| !t.is_empty()),
        signature.map(str::trim).filter(|s| !s.is_empty()),
    ) else {
        return Err(SigError::Missing);
    };
    let at: i64 = ts.parse().map_err(|_| SigError::BadTimestamp)?;
    let skew = now.saturating_sub(at);
    if skew.abs() > TOLERANCE_SECONDS {
        return Err(SigError::Stale(skew));
    }
    let raw = STANDARD.decode(sig).map_err(|_| SigError::Malformed)?;
    let bytes = <[u8; 64]>::try_from(raw.as_slice()).map_err(|_| SigError::Malformed)?;
    let key = VerifyingKey::from_bytes(public_key).map_err(|_| SigError::Invalid)?;
    let mut message = Vec::with_capacity(ts.len() + 1 + body.len());
    message.extend_from_slice(ts.as_bytes());
    message.push(b'|');
    message.extend_from_slice(body);
    key.verify_strict(&message, &Signature::from_bytes(&bytes))
        .map_err(|_| SigError::Invalid)
}

/// The `telnyx-signature-ed25519` value for `body` at `timestamp`, as
/// Telnyx computes it (tests, `simulate`).
pub fn sign(seed: &[u8; 32], timestamp: &str, body: &[u8]) -> String {
    let key = SigningKey::from_bytes(seed);
    let mut message = Vec::with_capacity(timestamp.len() + 1 + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.push(b'|');
    message.extend_from_slice(body);
    STANDARD.encode(key.sign(&message).to_bytes())
}

/// The public key of `seed`, raw.
pub fn public_key_of(seed: &[u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(seed).verifying_key().to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// specs/providers.md §4.5: RFC 8032 TEST 1's key, a Telnyx-shaped body.
    const SECRET: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const PUBLIC_B64: &str = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    const BODY: &str = r#"{"data":{"event_type":"message.received","id":"b301ed3f-1490-491f-995f-6e64e69674d4","occurred_at":"2023-11-14T22:13:20.000+00:00","payload":{"from":{"phone_number":"+13125550001"},"to":[{"phone_number":"+13125550002"}],"text":"STOP"},"record_type":"event"},"meta":{"attempt":1,"delivered_to":"https://example.com/webhooks/telnyx"}}"#;
    const SIG: &str =
        "p77BxqotsXe57/3N22Q4p5PcidXQR5GCUKoG50msh7zYsG+dLT5YE1wILgIO5tjfaKHPR3Og1t3WX63G8xU5Cw==";
    const TS: &str = "1700000000";

    fn public() -> [u8; 32] {
        crate::config::telnyx_public_key(PUBLIC_B64).unwrap()
    }

    fn seed() -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&SECRET[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    #[test]
    fn the_development_key_is_the_documented_one() {
        assert_eq!(
            STANDARD.encode(public_key_of(&DEV_SIGNING_SEED)),
            DEV_PUBLIC_KEY
        );
    }

    #[test]
    fn the_spec_vector_verifies_and_signs_the_same() {
        assert_eq!(public_key_of(&seed()), public());
        assert_eq!(sign(&seed(), TS, BODY.as_bytes()), SIG);
        for now in [1_700_000_000, 1_700_000_300, 1_699_999_700] {
            assert_eq!(
                verify(&public(), Some(TS), Some(SIG), BODY.as_bytes(), now),
                Ok(())
            );
        }
    }

    #[test]
    fn a_tampered_body_or_timestamp_is_refused() {
        let tampered = BODY.replace("STOP", "STAR");
        assert_eq!(
            verify(
                &public(),
                Some(TS),
                Some(SIG),
                tampered.as_bytes(),
                1_700_000_000
            ),
            Err(SigError::Invalid)
        );
        // The same signature under another timestamp signs another message.
        assert_eq!(
            verify(
                &public(),
                Some("1700000001"),
                Some(SIG),
                BODY.as_bytes(),
                1_700_000_000
            ),
            Err(SigError::Invalid)
        );
        let other = public_key_of(&DEV_SIGNING_SEED);
        assert_eq!(
            verify(&other, Some(TS), Some(SIG), BODY.as_bytes(), 1_700_000_000),
            Err(SigError::Invalid)
        );
    }

    #[test]
    fn old_future_missing_and_malformed_are_refused() {
        let check = |ts: Option<&str>, sig: Option<&str>, now: i64| {
            verify(&public(), ts, sig, BODY.as_bytes(), now)
        };
        assert_eq!(
            check(Some(TS), Some(SIG), 1_700_000_301),
            Err(SigError::Stale(301))
        );
        assert_eq!(
            check(Some(TS), Some(SIG), 1_699_999_699),
            Err(SigError::Stale(-301))
        );
        assert_eq!(
            check(None, Some(SIG), 1_700_000_000),
            Err(SigError::Missing)
        );
        assert_eq!(check(Some(TS), None, 1_700_000_000), Err(SigError::Missing));
        assert_eq!(
            check(Some(TS), Some(""), 1_700_000_000),
            Err(SigError::Missing)
        );
        assert_eq!(
            check(Some("soon"), Some(SIG), 1_700_000_000),
            Err(SigError::BadTimestamp)
        );
        assert_eq!(
            check(Some(TS), Some("not base64!"), 1_700_000_000),
            Err(SigError::Malformed)
        );
        assert_eq!(
            check(Some(TS), Some("c2hvcnQ="), 1_700_000_000),
            Err(SigError::Malformed)
        );
    }
}
