//! Hazards as concept families (rounds 7 to 9 of issue #21): a hazard
//! fires when two families of words co-occur anywhere in the message,
//! unless negated, resolved, past or hypothetical. Each family is checked
//! with messages written for it and the look-alikes it must leave alone.

use super::tests::expect;
use super::*;

// Round 7 of issue #21: hazards as concept FAMILIES that fire on their
// co-occurrence anywhere in the message (not only adjacent phrases), written
// from the label policy before the rules, with the look-alikes each family
// must leave alone (slow drips, "no rush", fixed already, past events,
// routine inspections, a CO detector chirping for its battery).

/// Messages that must be possible emergencies (flagged, not paged): a family
/// matched but its pair did not complete.
fn expect_possible(messages: &[&str]) {
    let c = Classifier::default();
    for m in messages {
        let got = c.classify(m);
        assert!(
            got.intent != Intent::Emergency && got.possible_emergency,
            "{m}: {:?} possible={}",
            got.intent,
            got.possible_emergency
        );
    }
}

/// Gas: a smell word with a gas source, strength or symptom anywhere.
#[test]
fn round_7_gas_family() {
    use Intent::*;
    expect(&[
        (
            "there's a weird smell in the kitchen, it's coming from around the stove",
            Emergency,
        ),
        (
            "stinks like rotten eggs by the dryer in the laundry room",
            Emergency,
        ),
        (
            "the odor near the furnace is getting stronger and my wife has a headache",
            Emergency,
        ),
        (
            "smells like sulfur in the basement near the water heater",
            Emergency,
        ),
        (
            "huele raro en la cocina cerca de la estufa, muy fuerte",
            Emergency,
        ),
        (
            "we noticed a strong odor by the gas meter outside the back door",
            Emergency,
        ),
        ("mùi lạ ở bếp gần bếp ga", Emergency),
        ("may amoy sa kusina malapit sa kalan, ang lakas", Emergency),
        (
            "hi um there's this smell like a skunk by the range and it won't go away",
            Emergency,
        ),
        // Look-alikes.
        (
            "the dishwasher smells a little musty, can someone look at it next week",
            Booking,
        ),
        (
            "the smell by the stove last month turned out to be a burner knob, all good now",
            NotInterested,
        ),
        (
            "can you clean the dryer vent, the laundry room smells a bit musty, no rush",
            Booking,
        ),
    ]);
}

/// Carbon monoxide: a detector making any sound with a symptom anywhere.
#[test]
fn round_7_carbon_monoxide_family() {
    use Intent::*;
    expect(&[
        (
            "the detector in the hall started making a different beep and my son says he feels dizzy",
            Emergency,
        ),
        (
            "alarm is chirping weird and we've all got headaches and feel sleepy",
            Emergency,
        ),
        (
            "the co thing is beeping. my eyes are burning and i feel nauseous",
            Emergency,
        ),
        (
            "el detector está sonando y tenemos dolor de cabeza",
            Emergency,
        ),
        (
            "the monitor keeps beeping and grandma is confused and drowsy",
            Emergency,
        ),
        // Look-alikes: a chirp for a battery, no symptom.
        (
            "the carbon monoxide detector is chirping every minute, i think it needs a new battery",
            Booking,
        ),
        (
            "can you install a co detector when you come out for the furnace tune up",
            Booking,
        ),
    ]);
}

/// Sewage: flushing or drains with water coming up or backing up, or dirty
/// water in the house.
#[test]
fn round_7_sewage_family() {
    use Intent::*;
    expect(&[
        (
            "every time we flush the toilet it comes up in the tub",
            Emergency,
        ),
        (
            "brown water coming up out of the shower drain and it smells like a sewer",
            Emergency,
        ),
        (
            "when the washer drains the water backs up through the floor drain onto the basement floor",
            Emergency,
        ),
        (
            "there's dirty nasty water in the tub that came up from the drain and it stinks",
            Emergency,
        ),
        ("sale agua sucia de la regadera cuando jalamos la cadena", Emergency),
        // Look-alikes.
        (
            "the shower drain is slow, can you snake it this week",
            Booking,
        ),
        ("how much for a sewer camera inspection", Pricing),
    ]);
}

/// Flooding: water with an amount or with rising/spreading/won't stop.
#[test]
fn round_7_flooding_family() {
    use Intent::*;
    expect(&[
        (
            "water in the basement is about three inches and still rising",
            Emergency,
        ),
        (
            "sump pump died and the water is coming up over the floor",
            Emergency,
        ),
        (
            "hay agua en el sotano como de dos pulgadas y sigue subiendo",
            Emergency,
        ),
        (
            "there's water all the way across the laundry room and it keeps spreading",
            Emergency,
        ),
        ("the water is ankle deep in the garage", Emergency),
        // Look-alikes.
        (
            "the kitchen faucet has a slow drip, no rush, whenever you're free",
            Booking,
        ),
        (
            "last spring our basement had three inches of water, how much is a sump pump",
            Pricing,
        ),
    ]);
}

/// Electrical: water with a light, outlet, panel or switch; a sensory sign
/// (humming, buzzing, crackling, flickering, a burning smell) with an
/// electrical thing.
#[test]
fn round_7_electrical_family() {
    use Intent::*;
    expect(&[
        (
            "the light in the ceiling is humming and flickering and there's water dripping out of it",
            Emergency,
        ),
        (
            "the outlet by the sink is buzzing and smells like burning plastic",
            Emergency,
        ),
        (
            "water is dripping down the wall by the light switch",
            Emergency,
        ),
        (
            "the panel in the garage is crackling and making a popping sound",
            Emergency,
        ),
        (
            "the switch plate is hot and the lights keep flickering",
            Emergency,
        ),
        // Look-alikes.
        (
            "one of the kitchen lights flickers sometimes, can you look at it next week",
            Booking,
        ),
        (
            "how much to replace a light switch that doesn't work",
            Pricing,
        ),
    ]);
}

/// A power cut with medical equipment of any kind, or its battery running out.
#[test]
fn round_7_power_and_medical_family() {
    use Intent::*;
    expect(&[
        (
            "the breaker keeps tripping and my dad is on a suction machine",
            Emergency,
        ),
        (
            "power went out and my daughter's feeding pump battery is almost gone",
            Emergency,
        ),
        ("mất điện rồi, ba tôi đang dùng máy thở", Emergency),
        (
            "no tenemos luz y mi mamá usa un concentrador de oxígeno",
            Emergency,
        ),
        (
            "half the outlets are dead and my husband's cpap is on that side",
            Emergency,
        ),
        // Look-alikes.
        (
            "the outlet in the bedroom is dead, can you come friday",
            Booking,
        ),
    ]);
}

/// No heat with cold or someone at risk; locked in with a child or pet.
#[test]
fn round_7_no_heat_and_locked_in_families() {
    use Intent::*;
    expect(&[
        (
            "the furnace quit last night and it's 12 below out, the baby is bundled up",
            Emergency,
        ),
        (
            "locked my keys in the car and my toddler is still buckled in the back seat",
            Emergency,
        ),
        ("dejé las llaves adentro del carro con mi bebé", Emergency),
        // Look-alikes.
        (
            "i locked myself out, can you make a spare key tomorrow",
            Booking,
        ),
    ]);
}

/// A spelled-out name is one word: "c o" inside a run of single letters is
/// no carbon monoxide.
#[test]
fn round_7_spelled_letters_are_one_word() {
    use Intent::*;
    expect(&[
        (
            "hi this is Dana O C O N N O R calling to move my appointment to thursday",
            Booking,
        ),
        (
            "it's t a n y a, can we reschedule to friday morning",
            Booking,
        ),
        // A real CO call still reads.
        (
            "the c o alarm is going off and we all feel dizzy",
            Emergency,
        ),
    ]);
}

/// A family that matched without its pair flags the office.
#[test]
fn round_7_half_a_family_is_a_possible_emergency() {
    expect_possible(&[
        "there's a strange smell in the kitchen, can someone come look",
        "the outlet in the hallway is making a buzzing noise, can you check it",
    ]);
}

/// A hazard told as history after it ("back in January", an insurance
/// claim paid) is over; a pet or child locked in still pages.
#[test]
fn round_7_history_after_the_hazard_and_pets() {
    use Intent::*;
    expect(&[
        (
            "the ceiling came down back in february, insurance approved the claim, when can you start",
            Booking,
        ),
        (
            "our water heater burst back in october, insurance finally paid, just letting you know",
            Other,
        ),
        (
            "the pipe burst this morning and there's water everywhere, will insurance cover it",
            Emergency,
        ),
        (
            "our dog is locked in the car and the keys are inside, it's 95 degrees",
            Emergency,
        ),
        (
            "el agua ya llega a los tobillos en el sotano",
            Emergency,
        ),
    ]);
}

/// Texts turned off in any words between "turn" and "off"; "pare" alone.
#[test]
fn round_7_texts_turned_off() {
    use Intent::*;
    expect(&[
        ("is there a way to turn these texts off?", OptOut),
        ("can you turn all of the reminder texts off", OptOut),
        ("PARE", OptOut),
        ("pare por favor", OptOut),
        // Look-alikes.
        ("turn the porch light off when you leave", Other),
    ]);
}

/// The families in Spanish, Vietnamese and Chinese, and old look-alikes
/// noticed while checking them (sulfur water, a door locked from outside
/// with nobody in, brown water for a few seconds).
#[test]
fn round_7_families_in_other_languages_and_look_alikes() {
    use Intent::*;
    expect(&[
        ("nước bẩn trào lên từ cống trong phòng tắm", Emergency),
        ("地下室进水了，已经到脚踝了，还在涨", Emergency),
        (
            "el detector de monóxido está pitando y todos estamos mareados",
            Emergency,
        ),
        ("cuando jalo la cadena el agua sale por la regadera", Emergency),
        (
            "el techo está goteando sobre la lámpara y la luz parpadea",
            Emergency,
        ),
        // Look-alikes.
        (
            "the hot water smells like sulfur, can someone come look at the water heater this week",
            Booking,
        ),
        (
            "my kid locked the bathroom door from outside, no one's inside, can you come fix the lock",
            Booking,
        ),
        (
            "the shower has brown water for a few seconds when i turn it on, can you check",
            Booking,
        ),
    ]);
}

// Round 8 emergencies (issue #21): the families round 7 left out (no heat
// by any wording, carbon monoxide told only by symptoms, someone locked in
// without keys, water that cannot be stopped, sewer water up through a
// floor drain), written from the label policy, and false alarms of the
// same kind.

fn expect_not_emergency(messages: &[&str]) {
    let c = Classifier::default();
    let failures: Vec<String> = messages
        .iter()
        .map(|m| (m, c.classify(m)))
        .filter(|(_, got)| got.intent == Intent::Emergency)
        .map(|(m, got)| format!("{m}: via {:?}", got.rule))
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn expect_emergency(messages: &[&str]) {
    let c = Classifier::default();
    let failures: Vec<String> = messages
        .iter()
        .filter(|m| c.classify(m).intent != Intent::Emergency)
        .map(|m| format!("{m}: {:?}", c.classify(m).intent))
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Heat out by any wording, with freezing or someone at risk; space
/// heaters or the oven used for heat.
#[test]
fn round_8_no_heat_family() {
    expect_emergency(&[
        "furnace hasn't worked since friday and it's 40 in the house",
        "boiler quit last night and the pipes are starting to freeze",
        "our heater isn't working and my mom is 88 and on oxygen",
        "we've been using the oven for heat since the furnace died, it's below zero",
        "the furnace is out and the space heater is all we have, the baby is sick",
        "heat hasn't worked since friday, single digits tonight",
        "the heat won't come on at all and we have a newborn",
        "la calefacción no funciona y hace mucho frío, tengo un bebé",
        "không có sưởi, nhà có em bé, ngoài trời dưới 0 độ",
        "暖气坏了，家里有老人，零下十度",
        "walang heater, sobrang lamig, may sanggol kami",
    ]);
    expect_not_emergency(&[
        "furnace is making a rattle but the heat works fine, can someone look next week",
        "can you service the boiler before it gets cold this winter",
        "the heat is out in the detached garage workshop, no rush",
        "for future reference what do you charge if the furnace goes out when it's freezing",
    ]);
}

/// Carbon monoxide told by symptoms alone: several people sick, better
/// outside or with a fuel appliance running.
#[test]
fn round_8_carbon_monoxide_by_symptoms() {
    expect_emergency(&[
        "all four of us have headaches and feel sick, we feel better when we go outside",
        "my wife and kids are dizzy and nauseous, the furnace has been running all day",
        "everyone in the house has a headache and is really sleepy, the generator is running in the garage",
        "the kids are throwing up and my husband is dizzy too, the car was warming up in the garage",
        "we all have headaches that go away when we leave the house",
        "todos tenemos dolor de cabeza y mareos, afuera nos sentimos mejor",
        "cả nhà đều bị đau đầu và chóng mặt, máy sưởi đang chạy",
        "全家都头晕头疼，暖气一直开着",
    ]);
    expect_not_emergency(&[
        "the kids have the flu and are throwing up, can you still come fix the furnace tomorrow",
        "i have a headache from the furnace noise lol, can you come look at it this week",
        "we all get headaches from the glare of the new lights, can you swap the bulbs",
    ]);
}

/// Someone locked in (no keys named): a child or an elder with dementia
/// inside alone, or a danger inside (a burner on, a bath running).
#[test]
fn round_8_locked_in_without_keys() {
    expect_emergency(&[
        "my mom has dementia, she's inside alone and the door is locked, i can't get in",
        "my toddler is inside alone and the door is locked, i can't get in",
        "mi hijo se quedó adentro y la puerta cerrada, la estufa está prendida",
        "the door is locked and i can't get in, the stove burner is on inside",
        "she's in there by herself, the door is locked and the bath is running",
        "con tôi ở trong nhà một mình, cửa bị khóa, bếp đang bật",
        "我孩子一个人在家里，门锁了，我进不去",
        "naiwan ang anak ko sa loob mag isa, naka lock ang pinto",
    ]);
    expect_not_emergency(&[
        "the bedroom door locks by itself, nobody inside, can you fix it this week",
        "my kid keeps locking the bathroom door, need a new knob",
        "can't get in the back door, the lock is sticky, can you come tomorrow",
    ]);
}

/// Water that cannot be stopped: a shutoff that does nothing, with water
/// spraying or spreading; sewer water up through a floor drain.
#[test]
fn round_8_water_that_cannot_be_stopped() {
    expect_emergency(&[
        "turned the shutoff and it didn't do nothing, water is spraying everywhere",
        "the valve under the sink won't turn and water is soaking the cabinet and floor",
        "the shut off knob is stuck, water is spreading across the kitchen",
        "la llave de paso no sirve, el agua sigue saliendo y mojando todo",
        "van nước không khóa được, nước phun khắp nhà",
        "阀门关不上，水喷得到处都是",
        "water coming up through the basement floor drain and it smells like a sewer",
        "the floor drain in the basement is bubbling up and the smell is horrible",
        "agua saliendo por la coladera del sótano, huele horrible",
    ]);
    expect_not_emergency(&[
        "the shutoff valve under the sink is stiff and hard to turn, can you replace it next week",
        "the water valve knob is loose, no leak, just want it replaced",
        "toilet handle is stuck and it keeps running, can you come fix it",
    ]);
}

/// False alarms: an appliance's standing water, a business name, a cost
/// or insurance question about a hazard.
#[test]
fn round_8_false_alarms() {
    expect_not_emergency(&[
        "there's an inch of water sitting in the bottom of the dishwasher, can you come look",
        "Hi this is Jen from Bright Spark Marketing, we help contractors get more reviews",
        "for future reference how much would you charge to fix a burst pipe",
        "does homeowners insurance usually cover a gas leak repair?",
        "is a gas leak something insurance pays for or do we pay you",
    ]);
}

/// "It's the sewer" names the sewage, it does not resolve it; a sewer smell
/// with nothing backing up, and a burst pipe priced "for future reference",
/// are bookings and questions.
#[test]
fn round_8_sewer_named_and_questions() {
    expect_emergency(&[
        "water is coming up out of the basement floor and it's the sewer i think, smells terrible",
        "mei you nuan qi, lao ren zai jia, ling xia shi du",
    ]);
    expect_not_emergency(&[
        "sewer smell in the laundry room sometimes, nothing backing up, can someone look",
        "what would a burst pipe repair cost? just for future reference",
    ]);
}

/// A hazard that "ended up being" harmless or is "all good now", and a
/// toilet that keeps running, are not emergencies.
#[test]
fn round_8_resolved_and_running_toilet() {
    expect_not_emergency(&[
        "the co detector went off this morning but it ended up being the batteries, can you check the furnace sometime",
        "about the gas smell earlier, the utility came out and it's all good now",
        "toilet keeps running and the water won't stop filling the tank, probably the flapper, can you fix it",
    ]);
    expect_emergency(&[
        "the toilet overflowed and water is pouring through the kitchen ceiling light",
    ]);
}

// ---------------------------------------------------------------------------
// Round 9 emergencies
// ---------------------------------------------------------------------------

/// A time-ago cue ("last week") resolves only a hazard in its own clause:
/// a dead circuit for a feeding pump, or a boiler out with a baby home, is
/// still an emergency when another clause mentions last week.
#[test]
fn round_9_past_cue_scoped_to_its_clause() {
    expect_emergency(&[
        "the breaker for her feeding pump keeps tripping and it won't reset, the electrician was here last week for something else",
        "power is out in her room and the oxygen concentrator is off, we also called you last month about a quote",
        "the boiler's not firing again, i also left a message last week about pricing, it's supposed to be minus twelve tonight and we have a newborn",
    ]);
    expect_not_emergency(&[
        "we had a gas leak last week, the utility fixed it, can you check the stove sometime",
        "the basement flooded last year, want a quote on a new sump pump",
    ]);
}

/// "If the CO alarm won't stop" asks what to do, but a person already sick
/// is present: a symptom with a CO detector is an emergency.
#[test]
fn round_9_hypothetical_does_not_cancel_symptoms() {
    expect_emergency(&[
        "what do we do if the co alarm won't stop? my wife is nauseous and dizzy",
        "if the carbon monoxide detector keeps beeping should we leave, the kids have headaches",
    ]);
    expect_not_emergency(&[
        "what should we do if the co alarm ever goes off? nobody is sick, just asking",
    ]);
}

/// A sewer smell with "no backup" is not a backup; a drain coming back up
/// into the shower with a smell is, in Spanish too; gray water with chunks
/// filling a tub nobody uses is sewage.
#[test]
fn round_9_sewage_families() {
    expect_emergency(&[
        "el drenaje se está regresando por la regadera y llegó al piso, huele horrible",
        "the shower drain is backing up with nasty water and it smells like sewage",
        "the tub is filling up with dirty gray water with chunks in it and nobody is using it",
        "agua gris saliendo en la tina y huele feo",
    ]);
    expect_not_emergency(&[
        "it smells like sewer in the basement by the floor drain but no backup, can someone look this week",
        "we want a quote on a gray water system for the garden",
    ]);
}

/// A ceiling bulging with water (abombado), smoke detectors going off with
/// a haze by the furnace.
#[test]
fn round_9_ceiling_and_haze() {
    expect_emergency(&[
        "el techo del baño está abombado y lleno de agua",
        "the ceiling in the hall is bulging with water",
        "all the smoke detectors are going off and there's a haze in the basement by the furnace",
        "smoke alarm going off and the hallway is hazy",
    ]);
    expect_not_emergency(&[
        "smoke alarm went off from burning toast, kitchen was a little hazy, all fine",
        "the smoke detector is chirping, battery i think",
    ]);
}

/// False alarms: an empty cabin checked "monday", a fix whose smell is
/// "totally gone", a detector the fire department called bad, dead outlets
/// with nothing hot, a spigot that trickles, locked out with nobody inside.
#[test]
fn round_9_false_alarms() {
    expect_not_emergency(&[
        "furnace is out at the lake cabin, thermostat says 50 inside, can someone go monday, key is in the lockbox",
        "thx for fixing the gas leak, smell is totally gone",
        "our co detector went off yesterday, fire department said the levels were zero and it was probably a bad detector, want the furnace inspected",
        "half the outlets in the bedroom stopped working, breakers are on, nothing's hot or smelly, just dead",
        "the outside spigot won't shut all the way off, it just trickles a bit, can someone come next week",
        "i locked myself out, nobody's inside, the cat's fine, can you send someone to let me in",
    ]);
}

/// Look-alikes: a power cut where nobody needs medical equipment, gutters
/// overflowing, a septic visit "not urgent" in Vietnamese.
#[test]
fn round_9_look_alikes_not_urgent() {
    expect_not_emergency(&[
        "power is out in the garage, nobody here needs medical equipment, can you check the panel",
        "the gutters are overflowing when it rains, can someone clean them next week",
        "em muốn hẹn người tới xem septic tank, không có gấp",
    ]);
    expect_emergency(&[
        "power is out and my dad's oxygen concentrator won't run",
        "the water heater pan is overflowing and water is all over the garage floor",
    ]);
}

/// The feeding pump on a dead circuit stays an emergency when another
/// clause says "last week"; a dead circuit named as history in its own
/// clause does not.
#[test]
fn round_9_feeding_pump_last_week_elsewhere() {
    expect_emergency(&[
        "my son's feeding pump is on that circuit and the outlets went dead, your guy replaced the panel last week",
        "no power in her room and the suction machine battery is almost dead. we called last week about something else",
    ]);
    expect_not_emergency(&[
        "last week the power went out and her oxygen concentrator was fine on battery, can you quote a generator",
        "power is out in one room, probably a breaker, nobody in the house needs medical equipment",
    ]);
}

/// Responders came and checked after the hazard: over, unless it goes on.
#[test]
fn round_9_responders_checked() {
    expect_not_emergency(&[
        "the smoke was from the fireplace flue, fire dept checked. phew",
        "co alarm went off last night, fire department checked everything, want the detectors replaced",
    ]);
    expect_emergency(&[
        "fire dept checked the outlet but it's still sparking and smoking",
        "co alarm going off, fire department came and left and now it's going off again",
    ]);
}
