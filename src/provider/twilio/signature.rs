//! Twilio request signatures (`X-Twilio-Signature`).
//!
//! Twilio signs the full URL it requested followed by every POST parameter,
//! names sorted byte-wise, each name immediately followed by its value. The
//! key is the account's Auth Token and the hash HMAC-SHA1 — or, when the
//! `X-Twilio-Webhooks-Signature-Settings` header says `algorithm=HMAC_SHA256`,
//! HMAC-SHA256 with a webhook shared key the account created (Twilio's
//! Webhooks configuration API), not the Auth Token. JSON bodies are instead covered by a
//! `bodySHA256` query parameter and the URL alone is signed.
//!
//! Twilio is "inconsistent" about ports, so like the official SDKs we accept
//! a signature over the URL with its port removed, with the default port
//! added, or with the query re-encoded (`'` as `%27`).

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    HmacSha1,
    HmacSha256,
}

impl Algorithm {
    /// Reads `X-Twilio-Webhooks-Signature-Settings` (`key=…,algorithm=…`).
    /// Absent header means the classic Auth Token + HMAC-SHA1.
    pub fn from_settings_header(header: Option<&str>) -> Algorithm {
        match header {
            Some(h)
                if h.split(',')
                    .any(|kv| kv.trim().eq_ignore_ascii_case("algorithm=HMAC_SHA256")) =>
            {
                Algorithm::HmacSha256
            }
            _ => Algorithm::HmacSha1,
        }
    }
}

/// The secrets Twilio may sign a webhook with.
pub struct WebhookKeys {
    /// HMAC-SHA1: the account's Auth Token (in console mode, the
    /// development secret `simulate` signs with).
    pub auth_token: secrecy::SecretString,
    /// HMAC-SHA256: the webhook shared key (`TWILIO_WEBHOOK_SHARED_KEY`),
    /// if the owner set one up.
    pub shared_key: Option<secrecy::SecretString>,
}

impl WebhookKeys {
    /// The key for a request signed with `algorithm`. `None`: the request
    /// says it is signed with a shared key and none is configured, so it
    /// cannot be verified (and must not be accepted).
    pub fn for_algorithm(&self, algorithm: Algorithm) -> Option<&[u8]> {
        use secrecy::ExposeSecret;
        match algorithm {
            Algorithm::HmacSha1 => Some(self.auth_token.expose_secret().as_bytes()),
            Algorithm::HmacSha256 => self
                .shared_key
                .as_ref()
                .map(|k| k.expose_secret().as_bytes()),
        }
    }
}

/// The string Twilio HMACs: URL then sorted, de-duplicated name+value pairs.
pub fn signing_string(url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| {
        a.0.as_bytes()
            .cmp(b.0.as_bytes())
            .then(a.1.as_bytes().cmp(b.1.as_bytes()))
    });
    sorted.dedup();
    let mut s = String::with_capacity(url.len() + params.len() * 24);
    s.push_str(url);
    for (k, v) in sorted {
        s.push_str(k);
        s.push_str(v);
    }
    s
}

/// Computes the base64 signature for `url` + `params`.
pub fn sign(key: &[u8], url: &str, params: &[(String, String)], algorithm: Algorithm) -> String {
    let data = signing_string(url, params);
    let mac = match algorithm {
        Algorithm::HmacSha1 => {
            let mut m = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key length");
            m.update(data.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        Algorithm::HmacSha256 => {
            let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
            m.update(data.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
    };
    base64::engine::general_purpose::STANDARD.encode(mac)
}

/// Checks a form-encoded request's signature against every URL variant.
pub fn validate(
    key: &[u8],
    signature: &str,
    url: &str,
    params: &[(String, String)],
    algorithm: Algorithm,
) -> bool {
    url_variants(url)
        .iter()
        .any(|u| constant_time_eq(&sign(key, u, params, algorithm), signature))
}

/// Checks a JSON request: the URL (with its `bodySHA256`) is signed with no
/// params, and the hash must match the raw body.
pub fn validate_json(
    key: &[u8],
    signature: &str,
    url: &str,
    raw_body: &[u8],
    algorithm: Algorithm,
) -> bool {
    let Some(expected_hash) = query_param(url, "bodySHA256") else {
        return false;
    };
    let actual = hex(&Sha256::digest(raw_body));
    constant_time_eq(&actual, &expected_hash.to_ascii_lowercase())
        & validate(key, signature, url, &[], algorithm)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// The URL forms Twilio may have signed: port removed, default port added,
/// and both again with `'` percent-encoded in the query. Built with string
/// operations on purpose: a URL parser would normalise away the very
/// differences we must try.
pub fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![remove_port(url), add_port(url)];
    if let Some((base, query)) = url.split_once('?') {
        let re = query.replace('\'', "%27");
        if re != query {
            let u = format!("{base}?{re}");
            out.push(remove_port(&u));
            out.push(add_port(&u));
        }
    }
    out.dedup();
    out
}

/// Splits `scheme://[userinfo@]host[:port]rest` into its parts.
fn split_authority(url: &str) -> Option<(&str, &str, &str, Option<&str>, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(auth_end);
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (&authority[..=i], &authority[i + 1..]),
        None => ("", authority),
    };
    let (host, port) = match hostport.rfind(':') {
        Some(i)
            if !hostport[i + 1..].is_empty()
                && hostport[i + 1..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            (&hostport[..i], Some(&hostport[i + 1..]))
        }
        _ => (hostport, None),
    };
    Some((scheme, userinfo, host, port, tail))
}

fn remove_port(url: &str) -> String {
    match split_authority(url) {
        Some((scheme, user, host, Some(_), tail)) => format!("{scheme}://{user}{host}{tail}"),
        _ => url.to_string(),
    }
}

fn add_port(url: &str) -> String {
    match split_authority(url) {
        Some((scheme, user, host, None, tail)) => {
            let port = if scheme.eq_ignore_ascii_case("https") {
                443
            } else {
                80
            };
            format!("{scheme}://{user}{host}:{port}{tail}")
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    //! Every vector from specs/providers.md §1.5.
    use super::*;

    const TOKEN: &[u8] = b"12345";
    const URI: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const BODY: &str = r#"{"property": "value", "boolean": true}"#;
    const BODY_HASH: &str = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";

    fn params() -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
            ("Caller", "+14158675309"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn sha1(url: &str, p: &[(String, String)]) -> String {
        sign(TOKEN, url, p, Algorithm::HmacSha1)
    }

    #[test]
    fn signing_string_matches_spec() {
        assert_eq!(
            signing_string(URI, &params()),
            "https://mycompany.com/myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+14158675309Digits1234From+14158675309To+18005551212"
        );
    }

    #[test]
    fn form_post_vector() {
        assert_eq!(sha1(URI, &params()), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        assert!(validate(
            TOKEN,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
            URI,
            &params(),
            Algorithm::HmacSha1
        ));
    }

    #[test]
    fn port_vectors() {
        assert_eq!(
            sha1("https://mycompany.com:443/myapp.php?foo=1&bar=2", &params()),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        );
        assert_eq!(
            sha1("http://mycompany.com:80/myapp.php?foo=1&bar=2", &params()),
            "0ZXoZLH/DfblKGATFgpif+LLRf4="
        );
        assert_eq!(
            sha1("http://mycompany.com:1234/myapp.php?foo=1&bar=2", &params()),
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="
        );
        // Signed with :443, requested without a port.
        assert!(validate(
            TOKEN,
            "kvajT1Ptam85bY51eRf/AJRuM3w=",
            URI,
            &params(),
            Algorithm::HmacSha1
        ));
        // Signed without a port, requested with :443 or even :1234 on https.
        assert!(validate(
            TOKEN,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            &params(),
            Algorithm::HmacSha1
        ));
        assert!(validate(
            TOKEN,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
            "https://mycompany.com:1234/myapp.php?foo=1&bar=2",
            &params(),
            Algorithm::HmacSha1
        ));
        assert!(validate(
            TOKEN,
            "0ZXoZLH/DfblKGATFgpif+LLRf4=",
            "http://mycompany.com/myapp.php?foo=1&bar=2",
            &params(),
            Algorithm::HmacSha1
        ));
        assert!(validate(
            TOKEN,
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
            "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
            &params(),
            Algorithm::HmacSha1
        ));
    }

    #[test]
    fn repeated_keys_vector() {
        let p: Vec<(String, String)> = [
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
            ("Digits", "1234"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(sha1(URI, &p), "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
    }

    #[test]
    fn array_param_vector_in_any_order() {
        for order in [
            ["+1325xxxxxxx", "+1415xxxxxxx"],
            ["+1415xxxxxxx", "+1325xxxxxxx"],
        ] {
            let p: Vec<(String, String)> = order
                .iter()
                .map(|v| ("MessagingBinding.Address".to_string(), v.to_string()))
                .collect();
            assert_eq!(sha1(URI, &p), "83O6e2vORAoJHUNzJjDWN1jz+BA=");
        }
    }

    #[test]
    fn json_body_vectors() {
        let url = format!("{URI}&bodySHA256={BODY_HASH}");
        assert_eq!(sha1(&url, &[]), "a9nBmqA0ju/hNViExpshrM61xv4=");
        assert!(validate_json(
            TOKEN,
            "a9nBmqA0ju/hNViExpshrM61xv4=",
            &url,
            BODY.as_bytes(),
            Algorithm::HmacSha1
        ));
        // The body must match its hash, not just the URL its signature.
        assert!(!validate_json(
            TOKEN,
            "a9nBmqA0ju/hNViExpshrM61xv4=",
            &url,
            b"{\"property\": \"tampered\"}",
            Algorithm::HmacSha1
        ));

        let only = format!("https://mycompany.com/myapp.php?bodySHA256={BODY_HASH}");
        assert_eq!(sha1(&only, &[]), "y77kIzt2vzLz71DgmJGsen2scGs=");
        assert!(validate_json(
            TOKEN,
            "y77kIzt2vzLz71DgmJGsen2scGs=",
            &only,
            BODY.as_bytes(),
            Algorithm::HmacSha1
        ));

        let empty_hash = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
        assert_eq!(hex(&Sha256::digest(b"{}")), empty_hash);
        let empty_url = format!("{URI}&bodySHA256={empty_hash}");
        assert!(validate_json(
            TOKEN,
            "Ldidvp12m26NI7eqEvxnEpkd9Hc=",
            &empty_url,
            b"{}",
            Algorithm::HmacSha1
        ));
        assert_eq!(sha1(&empty_url, &[]), "rw/jVviOgicj2+kHZULvebnA4ag=");
    }

    #[test]
    fn credentials_in_url_vectors() {
        assert_eq!(
            sha1(
                "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2",
                &params()
            ),
            "CukzLTc1tT5dXEDIHm/tKBanW10="
        );
        assert_eq!(
            sha1(
                "https://user:pass@mycompany.com:443/myapp.php?foo=1&bar=2",
                &params()
            ),
            "ZQFR1PTIZXF2MXB8ZnKCvnnA+rI="
        );
        assert_eq!(
            sha1(
                "https://user@mycompany.com/myapp.php?foo=1&bar=2",
                &params()
            ),
            "2YRLlVAflCqxaNicjMpJcSTgzSs="
        );
        assert!(validate(
            TOKEN,
            "ZQFR1PTIZXF2MXB8ZnKCvnnA+rI=",
            "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2",
            &params(),
            Algorithm::HmacSha1
        ));
    }

    #[test]
    fn special_characters_in_query() {
        let requested = "https://mycompany.com/myapp.php?foo=1&bar=2&Body=It's+amazing";
        assert_eq!(sha1(requested, &params()), "dsq4Ehbj6cs+KdTkpF5sSSplOWw=");
        assert!(validate(
            TOKEN,
            "TfZzewPq8wqrGlMfyAud8+/IvJ0=",
            requested,
            &params(),
            Algorithm::HmacSha1
        ));
    }

    #[test]
    fn url_only_get_vector() {
        assert_eq!(sha1(URI, &[]), "zYQTYrRWXE7LtzbG4PfP7/bkkGo=");
    }

    #[test]
    fn forged_and_tampered_requests_fail() {
        assert!(!validate(
            TOKEN,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
            URI,
            &params()[1..],
            Algorithm::HmacSha1
        ));
        assert!(!validate(
            b"54321",
            "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
            URI,
            &params(),
            Algorithm::HmacSha1
        ));
        assert!(!validate(TOKEN, "", URI, &params(), Algorithm::HmacSha1));
        assert!(!validate(
            TOKEN,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
            "https://evil.com/myapp.php?foo=1&bar=2",
            &params(),
            Algorithm::HmacSha1
        ));
    }

    #[test]
    fn each_algorithm_has_its_own_key_and_sha256_needs_one_configured() {
        let keys = WebhookKeys {
            auth_token: "token".to_string().into(),
            shared_key: Some("shared".to_string().into()),
        };
        assert_eq!(keys.for_algorithm(Algorithm::HmacSha1), Some(&b"token"[..]));
        assert_eq!(
            keys.for_algorithm(Algorithm::HmacSha256),
            Some(&b"shared"[..])
        );
        let no_shared = WebhookKeys {
            shared_key: None,
            ..keys
        };
        assert_eq!(no_shared.for_algorithm(Algorithm::HmacSha256), None);
    }

    #[test]
    fn sha256_variant_is_selected_by_header_and_differs() {
        assert_eq!(Algorithm::from_settings_header(None), Algorithm::HmacSha1);
        assert_eq!(
            Algorithm::from_settings_header(Some("key=k1,algorithm=HMAC_SHA256")),
            Algorithm::HmacSha256
        );
        let s256 = sign(b"shared", URI, &params(), Algorithm::HmacSha256);
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(&s256)
                .unwrap()
                .len(),
            32
        );
        assert!(validate(
            b"shared",
            &s256,
            URI,
            &params(),
            Algorithm::HmacSha256
        ));
        assert!(!validate(
            b"shared",
            &s256,
            URI,
            &params(),
            Algorithm::HmacSha1
        ));
    }
}
