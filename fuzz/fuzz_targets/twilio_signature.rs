//! Twilio request signatures. The input is read as lines: the key, the
//! URL, the `X-Twilio-Webhooks-Signature-Settings` header, then one
//! `name=value` parameter per line. For any such request: no panic; what
//! `sign` makes, `validate` accepts at the same URL; the parameters' order
//! does not matter; another key is refused; a JSON request signed over its
//! `bodySHA256` URL is accepted with its body and refused with another.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringback::provider::twilio::signature::{
    sign, url_variants, validate, validate_json, Algorithm,
};
use sha2::{Digest, Sha256};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let key = lines.next().unwrap_or_default().as_bytes();
    let url = lines.next().unwrap_or_default();
    let header = lines.next();
    let params: Vec<(String, String)> = lines
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    let alg = Algorithm::from_settings_header(header);

    let variants = url_variants(url);
    assert!(!variants.is_empty());

    let sig = sign(key, url, &params, alg);
    assert!(
        validate(key, &sig, url, &params, alg),
        "own signature refused"
    );
    let mut reversed = params.clone();
    reversed.reverse();
    assert_eq!(sign(key, url, &reversed, alg), sig, "order matters");
    let mut other_key = key.to_vec();
    other_key.push(b'x');
    assert!(
        !validate(&other_key, &sig, url, &params, alg),
        "other key accepted"
    );
    let other_alg = match alg {
        Algorithm::HmacSha1 => Algorithm::HmacSha256,
        Algorithm::HmacSha256 => Algorithm::HmacSha1,
    };
    assert!(!validate(key, &sig, url, &params, other_alg));

    // JSON: the body's hash in the URL, the URL alone signed.
    if !url.contains("bodySHA256") {
        let body = params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("\n");
        let hash: String = Sha256::digest(body.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let sep = if url.contains('?') { '&' } else { '?' };
        let json_url = format!("{url}{sep}bodySHA256={hash}");
        let sig = sign(key, &json_url, &[], alg);
        assert!(
            validate_json(key, &sig, &json_url, body.as_bytes(), alg),
            "own JSON signature refused: {json_url:?}"
        );
        let mut tampered = body.into_bytes();
        tampered.push(b'x');
        assert!(!validate_json(key, &sig, &json_url, &tampered, alg));
    }
});
