#!/usr/bin/env python3
"""Writes the starting corpus of each fuzz target into fuzz/seeds/TARGET.

The seeds come from the project's own data: the labelled messages in
tests/data and prompts/examples.tsv (classify), the sections of
prompts/intents.rules (rules), the shipped ringback.toml and the test
configs (config), and webhook bodies and the signature vectors of
specs/providers.md §1.5 (twilio_form, twilio_signature). `scripts/fuzz.sh`
runs each target on fuzz/corpus/TARGET plus these seeds; the fuzzer keeps
what adds coverage in fuzz/corpus/TARGET, and `scripts/fuzz.sh TARGET cmin`
shrinks it. fuzz/seeds is not committed: this script makes it again.
"""
import glob
import hashlib
import os
import re
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "seeds")


def write(target, items):
    d = os.path.join(OUT, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    seen = set()
    for item in items:
        data = item if isinstance(item, bytes) else item.encode()
        h = hashlib.sha1(data).hexdigest()
        if h in seen:
            continue
        seen.add(h)
        with open(os.path.join(d, h), "wb") as f:
            f.write(data)
    print(f"{target}: {len(seen)} seeds")


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def messages():
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, "tests/data/*.tsv"))) + [
        os.path.join(ROOT, "prompts/examples.tsv")
    ]:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line or line.startswith("#") or line.startswith("label\t"):
                    continue
                out.append(line.split("\t", 1)[-1])
    return out


def rule_sections():
    text = read("prompts/intents.rules")
    parts = re.split(r"(?m)^(?=\[)", text)
    header, sections = parts[0], parts[1:]
    concepts = {}
    for s in sections:
        m = re.match(r"\[concept:\s*(\w+)\]", s)
        if m:
            concepts[m.group(1)] = s

    def needs(s, seen):
        for name in re.findall(r"@(\w+)", s):
            if name in concepts and name not in seen:
                seen.add(name)
                needs(concepts[name], seen)
        return seen

    out = []
    for s in sections:
        # Each section with the concepts it uses: a file that compiles.
        used = sorted(needs(s, set()))
        out.append("".join(concepts[n] for n in used) + s)
    out.append(header[-2048:])
    return [o for o in out if len(o) <= 8192]


def configs():
    shipped = read("ringback.toml")
    helpers = read("tests/api/helpers.rs")
    m = re.search(r'DEFAULT_BUSINESS: &str = r#"(.*?)"#;', helpers, re.S)
    out = [shipped, m.group(1) if m else ""]
    # Each top-level table alone, and the file without its comments.
    out += re.split(r"(?m)^(?=\[\[?business|\[service|\[database)", shipped)
    out.append(re.sub(r"(?m)\s*#.*$", "", shipped))
    return out


FORMS = [
    b"CallSid=CA1234567890ABCDE&From=%2B15125550147&To=%2B15125550100&CallStatus=ringing&Direction=inbound",
    b"CallSid=CA1234567890ABCDE&From=%2B15125550147&To=%2B15125550100&DialCallStatus=no-answer&DialCallDuration=0",
    b"MessageSid=SM123&From=%2B15125550147&To=%2B15125550100&Body=Stop%21%21%21+%F0%9F%9B%91&NumMedia=0",
    b"MessageSid=SM123&MessageStatus=delivered&ErrorCode=&To=%2B15125550147",
    b"RecordingSid=RE1&RecordingUrl=https%3A%2F%2Fapi.twilio.com%2FRE1&TranscriptionText=i+smell+gas&CallSid=CA1",
    b"From=%2B15125550147&Body=hi+there&Digits=1&Digits=2",
    b"Body=%FF%FE",
    b"Trunc",
    b"=&&=x&%=%&+=+",
    b"From=+15125550147&From=%2B15125550147",
]

SIGNATURE = [
    # key \n url \n settings header \n name=value...
    "12345\nhttps://mycompany.com/myapp.php?foo=1&bar=2\n\nCallSid=CA1234567890ABCDE\nDigits=1234\nFrom=+14158675309\nTo=+18005551212\nCaller=+14158675309",
    "12345\nhttps://mycompany.com:443/myapp.php?foo=1&bar=2\n\nDigits=1234",
    "12345\nhttp://mycompany.com:1234/myapp.php?foo=1&bar=2\nkey=k1,algorithm=HMAC_SHA256\nSid=CA123\nDigits=5678\nDigits=1234",
    "shared\nhttps://user:pass@mycompany.com/myapp.php?foo=1&bar=2\nalgorithm=HMAC_SHA256\nMessagingBinding.Address=+1325xxxxxxx\nMessagingBinding.Address=+1415xxxxxxx",
    "12345\nhttps://mycompany.com/myapp.php?foo=1&bar=2&Body=It's+amazing\n\n",
    "12345\nhttps://mycompany.com/myapp.php?bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620\n\n",
    "k\nhttps://[::1]:8080/webhooks/twilio/voice\n\n",
    "k\nhttp://localhost/webhooks/twilio/sms?x='y'#frag\n\n",
]

if __name__ == "__main__":
    write("classify", messages() + ["STOP", "stop all", " Stop!!! 🛑 ", "UNSTOP", "help?", ""])
    write("rules", rule_sections())
    write("config", configs())
    write("twilio_form", FORMS)
    write("twilio_signature", SIGNATURE)
