use super::*;

/// Compiled once for all tests in this module.
fn shared() -> &'static Classifier {
    static CLASSIFIER: std::sync::OnceLock<Classifier> = std::sync::OnceLock::new();
    CLASSIFIER.get_or_init(Classifier::default)
}

/// Checks `(message, primary intent)` pairs; reports every failure
/// (also used by the other `tests_*.rs` files).
pub(super) fn expect(cases: &[(&str, Intent)]) {
    let c = shared();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|&(m, want)| {
            let got = c.classify(m);
            (got.intent != want).then(|| {
                format!(
                    "{m:?}: want {want}, got {} {:?} via {:?}",
                    got.intent, got.intents, got.rule
                )
            })
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn shipped_rules_compile() {
    let c = Classifier::from_rules(Classifier::default_rules(), "intents.rules");
    assert!(c.is_ok(), "{}", c.err().unwrap());
}

#[test]
fn intent_names_round_trip() {
    for i in Intent::ALL {
        assert_eq!(i.as_str().parse::<Intent>().unwrap(), i);
    }
    assert!("stop".parse::<Intent>().is_err());
    assert_eq!(Intent::ALL[0], Intent::Emergency, "emergency comes first");
    assert_eq!(Intent::ALL[1], Intent::OptOut, "then opt-out");
}

#[test]
fn normalization() {
    let c = shared();
    assert_eq!(
        c.normalize("EMERGANCY!!  Basement flooing 😭"),
        "emergency!! basement flooding"
    );
    assert_eq!(
        c.normalize("It smels like gas, can u come"),
        "it smells like gas, can you come"
    );
    // Shorthand, elongation, stutter, fillers.
    assert_eq!(
        c.normalize("pls stoppp txting me tmrw"),
        "please stop texting me tomorrow"
    );
    assert_eq!(c.normalize("pleaseeee"), "please");
    // A dropped final g, when the -ing word is one the rules use.
    assert_eq!(c.normalize("quit hittin my phone"), "quit hitting my phone");
    assert_eq!(
        c.normalize("um the the water uh heater"),
        "the water heater"
    );
    // Voice-to-text mishearings.
    assert_eq!(c.normalize("the fern ace is out"), "the furnace is out");
    assert_eq!(c.normalize("the eater is broken"), "the heater is broken");
    assert_eq!(
        c.normalize("the sure line backed up"),
        "the sewer line backed up"
    );
    assert_eq!(c.normalize("gas leek"), "gas leak");
    // One keyboard slip in a long word; real words are left alone.
    assert_eq!(c.normalize("furnsce"), "furnace");
    assert_eq!(c.normalize("flodding"), "flooding");
    assert_eq!(c.normalize("parked"), "parked");
    // Accents, curly quotes, emoji, Chinese.
    assert_eq!(c.normalize("¿Cuánto cuesta?"), "cuanto cuesta?");
    assert_eq!(c.normalize("I don’t know"), "i don't know");
    assert_eq!(c.normalize("  🔥🔥 "), "");
    assert_eq!(c.normalize("請停止傳送簡訊"), "请停止传送简讯");
}

#[test]
fn clause_splitting() {
    let c = shared();
    assert_eq!(
        c.clauses("stop by tmrw but pls stop texting"),
        ["stop by tomorrow", "please stop texting"]
    );
    assert_eq!(
        c.clauses("No gas smell, the pilot is out. Can you come?"),
        ["no gas smell", "the pilot is out", "can you come"]
    );
    assert_eq!(
        c.clauses("i smell gas and the kids are outside"),
        ["i smell gas", "the kids are outside"]
    );
    // "stop by" is not stop; "stop texting" and a bare "stop." are.
    expect(&[
        ("stop by after 2", Intent::Booking),
        ("can you stop by tomorrow", Intent::Booking),
        ("the AC won't stop running", Intent::Booking),
        ("Stop. We went with another company.", Intent::OptOut),
        ("we went with another company. stop", Intent::OptOut),
        ("please stop texting me", Intent::OptOut),
        ("stop the texts", Intent::OptOut),
    ]);
}

#[test]
fn keywords() {
    assert_eq!(normalize_keyword(" Stop!!! 🛑 "), "STOP");
    assert_eq!(normalize_keyword("opt-out"), "OPTOUT");
    assert_eq!(normalize_keyword("stop all"), "STOPALL");
    for m in [
        "STOP",
        "stop all",
        "Unsubscribe",
        "cancel",
        "end.",
        "QUIT",
        "revoke",
        "opt out",
        "Alto",
        "parar",
        "BASTA",
    ] {
        assert_eq!(keyword(m), Some(Keyword::Stop), "{m}");
    }
    for m in ["START", "unstop!"] {
        assert_eq!(keyword(m), Some(Keyword::Start), "{m}");
    }
    for m in ["HELP", "info?"] {
        assert_eq!(keyword(m), Some(Keyword::Help), "{m}");
    }
    for m in ["YES", "stop by", "stopped", "help me", ""] {
        assert_eq!(keyword(m), None, "{m}");
    }
}

#[test]
fn negation_and_resolution() {
    use Intent::*;
    expect(&[
        // Negated hazards.
        ("no gas smell, the pilot is out", Booking),
        ("No smoke, no sparks, outlet just stopped working", Booking),
        (
            "not sparking anymore, just want the outlet replaced",
            Booking,
        ),
        ("drain is slow but not backing up", Booking),
        ("nobody here smells gas, wrong number", Other),
        // Resolved hazards.
        (
            "false alarm, turned out to be the toaster lol",
            NotInterested,
        ),
        (
            "the gas smell was just a burner left on, all good now",
            NotInterested,
        ),
        ("water's gone down now, we're fine", NotInterested),
        // A cue that contains the hazard: it is the thing fixed.
        ("ya se arreglo la fuga, gracias", NotInterested),
        (
            "the outlet stopped sparking after i flipped the breaker, can someone check it tomorrow",
            Booking,
        ),
        (
            "CO alarm went off but it was just the battery, still want the furnace checked",
            Booking,
        ),
        (
            "we had a small leak last month, it's dry now, can someone check the drywall",
            Booking,
        ),
        // ... unless it is still going after that.
        (
            "we put the flames out but the outlet is still smoking",
            Emergency,
        ),
        (
            "smelled gas this morning, figured it was nothing, but now it's a lot stronger",
            Emergency,
        ),
        // People being fine does not end a hazard; a harmless cause does.
        ("the basement is flooding, we're fine though", Emergency),
        (
            "gas smell is strong, we're ok, we left the house",
            Emergency,
        ),
        (
            "the gas smell was the strongest near the water heater",
            Emergency,
        ),
        (
            "the smoke was from the outlet and it's really thick",
            Emergency,
        ),
        ("the burning smell was from the neighbors grill", Other),
        ("the gas company came and said we're safe", NotInterested),
        // Slow drips and "no rush" are not emergencies.
        ("slow drip under the sink, no rush", Booking),
        ("heat's out but it's mild, no rush", Booking),
        ("not an emergency but the water heater drips", Booking),
        // Unsure customers still get help.
        ("I think I smell gas? not sure", Emergency),
        (
            "not sure if this is an emergency but the switch is hot and crackling",
            Emergency,
        ),
    ]);
}

#[test]
fn hazards_and_possible_emergencies() {
    let c = shared();
    let cases = [
        ("I smell gas in the kitchen", Hazard::Gas),
        ("carbon monoxide alarm going off", Hazard::CarbonMonoxide),
        ("outlet caught fire", Hazard::Fire),
        ("live wires hanging after the storm", Hazard::Electrical),
        ("burst pipe, water everywhere", Hazard::Flooding),
        (
            "sewage coming up the floor drain into the basement",
            Hazard::Sewage,
        ),
        ("no heat, 5 degrees, newborn at home", Hazard::NoHeat),
        (
            "AC died, it's 110 and my dad is on oxygen",
            Hazard::NoCooling,
        ),
        (
            "power is out and my mom's oxygen concentrator needs power",
            Hazard::Electrical,
        ),
        ("my toddler is locked in the car", Hazard::Other),
    ];
    for (m, want) in cases {
        let got = c.classify(m);
        assert_eq!(got.intent, Intent::Emergency, "{m}: {got:?}");
        assert_eq!(got.hazard, Some(want), "{m}");
        assert!(!got.possible_emergency, "{m}");
    }
    // A hazard that needs a second condition, or is hypothetical: flagged,
    // not paged.
    for (m, want) in [
        (
            "our heat went out, can someone come tomorrow",
            Hazard::NoHeat,
        ),
        ("the AC quit, can you come this week", Hazard::NoCooling),
        ("what should I do if I ever smell gas?", Hazard::Gas),
    ] {
        let got = c.classify(m);
        assert_ne!(got.intent, Intent::Emergency, "{m}");
        assert!(got.possible_emergency, "{m}: {got:?}");
        assert_eq!(got.possible_hazard, Some(want), "{m}");
        assert_eq!(got.hazard, None, "{m}");
    }
    // Negated or resolved: neither.
    for m in [
        "no gas smell, just a question",
        "the smoke was from the neighbor's grill, all good",
    ] {
        let got = c.classify(m);
        assert!(
            !got.possible_emergency && got.hazard.is_none(),
            "{m}: {got:?}"
        );
    }
    assert_eq!(c.classify("how much for a tune up").hazard, None);
}

#[test]
fn every_intent_is_reported() {
    let c = shared();
    let got = c.classify("remove me from these texts. btw i smell gas by the water heater");
    assert_eq!(got.intent, Intent::Emergency);
    assert_eq!(got.hazard, Some(Hazard::Gas));
    assert_eq!(got.intents, [Intent::Emergency, Intent::OptOut]);
    assert!(got.has(Intent::OptOut));

    let got = c.classify("Stop texting me. Also how much do you charge for a drain cleaning?");
    assert_eq!(got.intent, Intent::OptOut);
    assert!(got.has(Intent::Pricing), "{got:?}");

    let got = c.classify("how much for a new water heater? can someone come friday");
    assert_eq!(got.intent, Intent::Pricing);
    assert_eq!(got.intents, [Intent::Pricing, Intent::Booking]);

    let got = c.classify("thanks!");
    assert_eq!(got.intent, Intent::Other);
    assert_eq!(got.intents, [Intent::Other]);
    assert_eq!(got.rule, None);

    // The primary intent's rule names the file, line and section.
    let rule = c.classify("I smell gas").rule.unwrap();
    assert!(rule.starts_with("intents.rules:"), "{rule}");
    assert!(rule.contains("[emergency: gas]"), "{rule}");
    let explained = c.classify("stop texting me, the basement is flooding");
    assert!(explained.matches.iter().any(|m| m.intent == Intent::OptOut));
    assert!(explained
        .matches
        .iter()
        .any(|m| m.hazard == Some(Hazard::Flooding) && m.effect == Effect::Found));
}

/// Opt-outs in languages without other rules: their letters are kept.
#[test]
fn opt_out_in_other_languages() {
    use Intent::*;
    expect(&[
        ("Не пишите мне больше", OptOut),
        ("문자 그만 보내세요", OptOut),
        ("Pare de me mandar mensagem", OptOut),
        ("Tanpri sispann voye mesaj ban mwen", OptOut),
    ]);
}

#[test]
fn spanish() {
    use Intent::*;
    expect(&[
        ("huele a gas en la cocina", Emergency),
        ("se reventó un tubo y el agua no para", Emergency),
        ("salen chispas del enchufe", Emergency),
        (
            "no tenemos calefacción, hace mucho frío y tengo un bebé",
            Emergency,
        ),
        ("no me manden más mensajes", OptOut),
        ("dejen de mandarme textos por favor", OptOut),
        ("quiero volver a recibir mensajes", OptIn),
        ("¿quién es?", Help),
        ("cuánto cuesta cambiar el calentador", Pricing),
        ("necesito una cita para el lunes", Booking),
        ("pueden venir mañana en la tarde", Booking),
        ("ya no lo necesito, gracias", NotInterested),
        ("gracias", Other),
    ]);
    assert_eq!(shared().classify("huele a gas").language, Language::Es);
}

#[test]
fn vietnamese() {
    use Intent::*;
    expect(&[
        ("Nhà tôi có mùi gas rất nặng", Emergency),
        ("ống nước bể, nước tràn khắp nơi", Emergency),
        ("Đừng nhắn tin cho tôi nữa", OptOut),
        ("Tôi muốn nhận tin nhắn lại", OptIn),
        ("Ai vậy?", Help),
        ("Sửa máy lạnh bao nhiêu tiền?", Pricing),
        ("Không cần nữa, cảm ơn", NotInterested),
    ]);
    assert_eq!(shared().classify("Ai vậy?").language, Language::Vi);
}

#[test]
fn chinese() {
    use Intent::*;
    expect(&[
        ("家里煤气味很重，请马上派人来", Emergency),
        ("廚房有瓦斯味", Emergency),
        ("插座冒烟了", Emergency),
        // Each character is a word: phrases can skip some ("...8").
        ("一氧化碳报警器一直在响，我们头很晕", Emergency),
        ("有煤气味，很浓", Emergency),
        ("你们明天能来修一下空调吗", Booking),
        ("请不要再给我发短信了", OptOut),
        ("請停止傳送簡訊給我", OptOut),
        ("我想重新接收短信", OptIn),
        ("你是谁？", Help),
        ("這是哪家公司？", Help),
        ("换一个热水器大概多少钱？", Pricing),
        ("不用了，谢谢", NotInterested),
    ]);
    assert_eq!(shared().classify("你是谁").language, Language::Zh);
}

#[test]
fn tagalog() {
    use Intent::*;
    expect(&[
        ("may amoy gas po sa bahay namin", Emergency),
        ("may sparks po sa outlet at may usok", Emergency),
        ("Wag niyo na po akong i-text", OptOut),
        ("Pakitigil na po ang pagte-text", OptOut),
        ("Gusto ko po ulit makatanggap ng text", OptIn),
        ("Sino po ito?", Help),
        ("Magkano po ang pagpapaayos ng aircon?", Pricing),
        ("Hindi na po kailangan, naayos na", NotInterested),
    ]);
    assert_eq!(shared().classify("Sino po ito?").language, Language::Tl);
}

#[test]
fn english_language_is_the_default() {
    let c = shared();
    assert_eq!(
        c.classify("can someone come tomorrow").language,
        Language::En
    );
    assert_eq!(c.classify("👍").language, Language::En);
}

#[test]
fn voicemail_transcripts() {
    use Intent::*;
    expect(&[
        ("hi um yeah i'm calling because i smell gas real strong in the kitchen please call me back", Emergency),
        ("hello yes my carbon monoxide a alarm is going off and my daughter's got a headache we need somebody to look at the fern ace", Emergency),
        ("yeah the uh the sure is backing up into my basement it's coming out the floor drain", Emergency),
        ("it's freezing in here the fern ace stopped working last night it's minus ten out", Emergency),
        ("my number is five one two five five five zero one nine three i need someone to look at the water heater it's making a noise", Booking),
        ("hi um no gas smell or anything but the pilot light keeps going out can you call me back", Booking),
        ("hi this is linda i'd like to set up a time for someone to look at our water softener", Booking),
    ]);
}

#[test]
fn errors_name_the_line() {
    let bad_regex = "[pricing]\nphrase: how much\n\nregex: (unclosed\n";
    let e = Classifier::from_rules(bad_regex, "mine.rules").unwrap_err();
    assert_eq!(e.line, 4);
    assert!(
        e.to_string().starts_with("mine.rules:4: invalid regex"),
        "{e}"
    );

    let cases = [
        ("[pricng]\nphrase: x", 1, "unknown section"),
        ("[emergency: lava]\nphrase: x", 1, "unknown hazard"),
        ("[booking]\nphrase: x\nmaybe: y", 3, "unknown directive"),
        ("phrase: x", 1, "outside any section"),
        ("[booking]\n\nand: x", 3, "must follow"),
        ("[booking]\nphrase: a || b", 2, "empty phrase"),
        ("[spelling]\nfoo bar", 2, "wrong -> right"),
        ("[negation]\nwindow: lots", 2, "whole number"),
        ("[other]\nphrase: x", 1, "cannot have rules"),
        ("[booking]\nphrase: @nowhere", 2, "not defined"),
        (
            "[concept: a]\n@b\n[concept: b]\n@a\n[booking]\nphrase: @a",
            4,
            "circle",
        ),
        ("[booking]\nphrase: x ...", 2, "both sides"),
        ("[booking]\nphrase: <num 9>", 2, "range"),
        ("[booking]\nweak and: x", 2, "weak"),
    ];
    for (text, line, needle) in cases {
        let e = Classifier::from_rules(text, "t.rules").unwrap_err();
        assert_eq!(e.line, line, "{text:?}: {e}");
        assert!(e.message.contains(needle), "{text:?}: {e}");
    }
}

#[test]
fn custom_rules_file() {
    let rules = "[spelling]\nquot -> quote\n[negation]\nwords: no | not\n\
                 [clauses]\nwords: but\n\
                 [concept: money]\nprice | cost\n\
                 [pricing]\nphrase: quote ... @money\nignore: quote unquote\n\
                 [booking]\nphrase: come ... out\nunless: tomorrow\n\
                 [opt_out]\nclause: stop\n\
                 [help]\nweak phrase: who\n\
                 [emergency: no_heat]\nphrase: no heat\nand: <num 0-40> degrees\n";
    let c = Classifier::from_rules(rules, "t.rules").unwrap();
    assert_eq!(c.classify("quot me a price").intent, Intent::Pricing);
    assert_eq!(c.classify("not quote, price").intent, Intent::Other);
    assert_eq!(c.classify("quote unquote price").intent, Intent::Other);
    assert_eq!(c.classify("can you come on out").intent, Intent::Booking);
    assert_eq!(c.classify("come out tomorrow").intent, Intent::Other);
    assert_eq!(c.classify("stop. who").intent, Intent::OptOut);
    assert_eq!(c.classify("stop by").intent, Intent::Other);
    assert_eq!(c.classify("who").intent, Intent::Help);
    assert_eq!(
        c.classify("who, can you come out").intent,
        Intent::Booking,
        "weak loses"
    );
    assert_eq!(
        c.classify("no heat, twelve degrees").intent,
        Intent::Emergency
    );
    let got = c.classify("no heat, 60 degrees");
    assert_eq!(got.intent, Intent::Other);
    assert!(got.possible_emergency);
}

#[test]
fn long_messages_are_read_up_to_a_limit() {
    let c = shared();
    let filler = "blah ".repeat(4000);
    let got = c.classify(&format!("i smell gas {filler}"));
    assert_eq!(got.intent, Intent::Emergency);
    let got = c.classify(&format!("{filler} i smell gas"));
    assert_ne!(got.intent, Intent::Emergency, "past the limit");
    let wide = "煤".repeat(5000);
    let _ = c.classify(&wide);
}

#[test]
fn classifier_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Classifier>();
}

mod properties {
    use super::super::*;
    use proptest::prelude::*;

    /// Punctuation, whitespace and emoji that may surround a keyword.
    fn noise() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just(' '),
                Just('\t'),
                Just('\n'),
                Just('!'),
                Just('.'),
                Just('?'),
                Just('-'),
                Just('🛑'),
                Just('😡'),
                Just('🙏'),
                Just('✋'),
                Just('"'),
                Just('“'),
                Just('*'),
            ],
            0..6,
        )
        .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #[test]
        fn idempotent(s in any::<String>()) {
            let once = normalize_keyword(&s);
            prop_assert_eq!(normalize_keyword(&once), once);
        }

        #[test]
        fn never_lowercase(s in any::<String>()) {
            prop_assert!(!normalize_keyword(&s).chars().any(char::is_lowercase));
        }

        #[test]
        fn stop_survives_noise(pre in noise(), post in noise(), mask in 0u8..16) {
            let word: String = "stop".chars().enumerate()
                .map(|(i, c)| if mask & (1 << i) != 0 { c.to_ascii_uppercase() } else { c })
                .collect();
            let message = format!("{pre}{word}{post}");
            prop_assert_eq!(normalize_keyword(&message), "STOP");
            prop_assert_eq!(keyword(&message), Some(Keyword::Stop));
            prop_assert_eq!(super::shared().classify(&message).intent, Intent::OptOut);
        }

        /// "stop" with letters added is not STOP, unless the letters make
        /// another real keyword ("stop all" is STOPALL, "un stop" is UNSTOP).
        #[test]
        fn extra_letters_are_not_a_keyword(extra in "[a-z]{1,6}", before in any::<bool>()) {
            let message = if before { format!("{extra} stop") } else { format!("stop {extra}") };
            let normalized = normalize_keyword(&message);
            prop_assume!(!KEYWORDS.iter().any(|(k, _)| *k == normalized));
            prop_assert_eq!(keyword(&message), None);
        }

        #[test]
        fn keyword_implies_known_form(s in any::<String>()) {
            if keyword(&s).is_some() {
                let n = normalize_keyword(&s);
                prop_assert!(KEYWORDS.iter().any(|(k, _)| *k == n));
            }
        }

        /// Whatever comes in: no panic, the hazard is set exactly for an
        /// emergency, the primary intent is the first one listed, and a
        /// possible emergency never comes with a paged one.
        #[test]
        fn classify_invariants(s in any::<String>()) {
            let got = super::shared().classify(&s);
            prop_assert_eq!(got.hazard.is_some(), got.intent == Intent::Emergency);
            prop_assert_eq!(got.intents.first(), Some(&got.intent));
            prop_assert!(!(got.possible_emergency && got.intent == Intent::Emergency));
            prop_assert_eq!(got.possible_emergency, got.possible_hazard.is_some());
        }

        /// Messages made of rule words in random order exercise the
        /// matcher (gaps, concepts, numbers) far more than random text.
        #[test]
        fn classify_word_soup(words in proptest::collection::vec(prop_oneof![
            Just("gas"), Just("smell"), Just("no"), Just("stop"), Just("texting"), Just("heat"),
            Just("out"), Just("12"), Just("degrees"), Just("baby"), Just("but"), Just("and"),
            Just("water"), Just("pouring"), Just("turned"), Just("still"), Just("smoking"),
            Just("if"), Just("how"), Just("much"), Just("tomorrow"), Just("."), Just(","),
            Just("twenty"), Just("five"), Just("煤气味"), Just("po"), Just("huele"), Just("a"),
        ], 0..40)) {
            let got = super::shared().classify(&words.join(" "));
            prop_assert_eq!(got.hazard.is_some(), got.intent == Intent::Emergency);
        }
    }
}
