//! Round 3 of issue #21: categories of replies the rules missed on fresh
//! corpora, each checked with messages written for the category (not
//! copied from a corpus), and the look-alikes each fix must leave alone.

use super::tests::expect;
use super::*;

/// "By mistake" cancels an opt-out only when the stop was the mistake, not
/// when something else was ("my son gave you this number by mistake").
#[test]
fn a_mistake_undoes_only_the_stop_itself() {
    use Intent::*;
    expect(&[
        (
            "my husband gave you my number by mistake, take it off your texts",
            OptOut,
        ),
        (
            "wrong number by accident i guess. remove me from your list",
            OptOut,
        ),
        (
            "i texted stop by accident, can i get the reminders again",
            OptIn,
        ),
        ("i replied stop by mistake, please put me back on", OptIn),
    ]);
}

/// Spanish opt-outs in any form of "remove / delete / take out" with the
/// number or the list, and "that the messages stop arriving".
#[test]
fn spanish_remove_verbs_and_their_objects() {
    use Intent::*;
    expect(&[
        ("bórrenme de su lista por favor", OptOut),
        ("quiten mi número", OptOut),
        ("quisiera que eliminaran mi numero de sus listas", OptOut),
        ("como hago para que no me lleguen estos mensajes", OptOut),
        ("quiten el árbol del patio, cuánto cobran", Pricing),
    ]);
}

/// Consent and the law, a stop verb aimed at the texts, and not wanting to
/// receive them, in words no earlier rule listed.
#[test]
fn opt_out_by_consent_and_by_what_is_sent() {
    use Intent::*;
    expect(&[
        ("you never gave permission for this. tcpa.", OptOut),
        ("please discontinue these messages", OptOut),
        ("is there a way to make the texts quit coming", OptOut),
        ("i don't need to receive any more texts", OptOut),
        ("please unenroll me from the reminders", OptOut),
        ("lol stop", OptOut),
        ("i asked you guys to stop like 3 times", OptOut),
        ("i asked you to stop by tomorrow", Booking),
        ("ugh. bro stop", OptOut),
        ("i don't need to text you the photo right?", NotInterested),
    ]);
}

/// Emergencies the rules missed by structure: the broken word before the
/// heater, a leak that turned into a spray, water rising to a level, the
/// medical power cut that is street-wide, a locked-in child in Spanish.
#[test]
fn emergencies_by_structure() {
    use Intent::*;
    expect(&[
        (
            "pilot went out on the furnace, it's 9 degrees and my mom is 88",
            Emergency,
        ),
        (
            "the slow leak turned into a full spray behind the washer",
            Emergency,
        ),
        ("water is up to the second stair in the basement", Emergency),
        (
            "power is out on the whole street and my dad is on a ventilator",
            Emergency,
        ),
        ("mi niño de 2 años se quedó encerrado en el baño", Emergency),
        (
            "kitchen faucet won't stop running and the handle came off, water on the floor",
            Emergency,
        ),
        ("the water is up to code right?", Other),
        (
            "the toilet won't stop running, it's been like that all week",
            Booking,
        ),
        (
            "power is out on the whole street, just letting you know",
            Other,
        ),
    ]);
}

/// Look-alikes of hazard words that are not hazards.
#[test]
fn look_alikes_stay_calm() {
    use Intent::*;
    expect(&[
        ("hola quería confirmar la cita para lo del techo", Booking),
        ("em cảm ơn anh nhiều lắm", Other),
        ("good morning", Other),
        (
            "last month the basement flooded, can you quote waterproofing",
            Pricing,
        ),
    ]);
}

// Round 4 of issue #21: the categories missed on tune4-texts-k and
// tune4-voicemail-h, each checked with messages written for the category
// (not copied from those corpora) and with the look-alikes it must leave
// alone.

/// An opt-out is a wish for no more texts in any words: dismissal or
/// profanity aimed at them, a complaint about them, a stop word with only
/// courtesy around it, the texts by any name (reminders, follow ups,
/// updates), and Spanish forms not listed before.
#[test]
fn opt_out_in_any_words() {
    use Intent::*;
    expect(&[
        ("fuck off with these messages", OptOut),
        ("screw your texts", OptOut),
        ("go away", OptOut),
        ("these reminders are getting annoying", OptOut),
        ("u guys text way too much", OptOut),
        ("omg enough", OptOut),
        ("no more pls", OptOut),
        ("Please discontinue", OptOut),
        ("delete me", OptOut),
        ("enough with the reminders already", OptOut),
        ("pls no more updates", OptOut),
        ("i want out of this", OptOut),
        ("calls only please, no texting", OptOut),
        ("Block.", OptOut),
        ("estop", OptOut),
        ("no me molesten más", OptOut),
        ("paren los mensajes porfa", OptOut),
        ("tama na po ang text", OptOut),
        ("leave me tf alone", OptOut),
        ("this is the third time im asking to be removed", OptOut),
        // Look-alikes.
        ("stop by tomorrow", Booking),
        ("the leak won't stop", Emergency),
        ("the drain is blocked", Other),
        ("I never agreed to that price", Pricing),
        ("any updates on the part?", Other),
        ("I texted you so much yesterday, sorry about that", Other),
        ("no more leaks since you fixed it, thanks", NotInterested),
        ("the damn furnace quit again", Booking),
    ]);
}

/// Asking how to stop them, and a stop already sent with the texts still
/// coming (a section of its own: the first [opt_out] ignores "texted stop").
#[test]
fn opt_out_asked_how_or_already_sent() {
    use Intent::*;
    expect(&[
        ("how do I stop these?", OptOut),
        ("do I just reply stop?", OptOut),
        ("how do i get removed", OptOut),
        ("I replied STOP and still getting these", OptOut),
        ("how many times do I have to say stop", OptOut),
        ("why are you still texting me", OptOut),
        ("how do I stop these ants", Booking),
        (
            "what happens if i reply stop, will it cancel my appointment",
            Help,
        ),
        ("is the tech still coming? i texted stop by accident", OptIn),
        ("I asked you guys to stop by today", Booking),
    ]);
}

/// Undoing an unsubscribe in other languages, and asking to be subscribed
/// again.
#[test]
fn opt_in_after_an_unsubscribe_by_mistake() {
    use Intent::*;
    expect(&[
        ("di baja por error, quiero los mensajes", OptIn),
        ("我不小心退订了，请继续发短信", OptIn),
        ("subscribe me again pls", OptIn),
        ("please put me back on the list", OptIn),
        ("hủy đăng ký giùm tôi", OptOut),
        ("退订", OptOut),
    ]);
}

/// Hazards by structure: cold inside as no heat, a gas detector, someone
/// vulnerable behind a locked door, a boiler in the red, water at the
/// panel, a leak spreading into the carpet, a gas line hit, and a hazard
/// that came back after a fix.
#[test]
fn emergencies_by_structure_round_4() {
    use Intent::*;
    expect(&[
        ("it's 48 in the house and my mom is 88", Emergency),
        ("thermostat says 45 and we have a newborn", Emergency),
        ("the gas detector is going off", Emergency),
        (
            "dad fell in the bathroom and the door is locked, he can't get up",
            Emergency,
        ),
        (
            "the water heater gauge is in the red and it's making a screaming noise",
            Emergency,
        ),
        (
            "water heater is leaking and it's soaking the carpet in the hallway",
            Emergency,
        ),
        ("there's standing water around the breaker panel", Emergency),
        ("propane tank is leaking", Emergency),
        ("the landscaper hit the gas line", Emergency),
        (
            "the gas smell came back even stronger after your guy left",
            Emergency,
        ),
        (
            "hola se nos fue la calefacción y está helando afuera, tengo dos niños chiquitos",
            Emergency,
        ),
        (
            "el calentador está tirando agua por todos lados y no sé cómo cerrar la llave",
            Emergency,
        ),
        ("nasusunog ang outlet", Emergency),
        ("GAS", Emergency),
        // Look-alikes.
        ("the fridge is 50 degrees inside", Other),
        ("the lock fell off the back door can you come fix", Booking),
        ("there's a puddle by the water meter outside", Booking),
        ("the gas water heater is leaking", Booking),
        ("están echando agua al jardín", Other),
        (
            "is gas supposed to smell like rotten eggs? asking for a school project",
            Other,
        ),
        ("do you handle emergencies like burst pipes", Other),
        (
            "the toilet runs all the time, it's not flooding or anything, can someone fix it",
            Booking,
        ),
    ]);
}

/// A hazard told after a long-past time in its clause is history, unless
/// "now"/"again" follows in the clause or the message says it is back.
#[test]
fn past_hazards_are_history_unless_back() {
    use Intent::*;
    expect(&[
        (
            "last year a pipe burst, want to get the pipes insulated",
            Booking,
        ),
        (
            "we used to have sewage backing up, want a backflow valve",
            Other,
        ),
        (
            "the plumber fixed the pipe last week now the pipe burst again",
            Emergency,
        ),
        ("we smelled gas last week and now it's back", Emergency),
        (
            "we had sewage backing up last month and it's happening again",
            Emergency,
        ),
        ("it never used to smell like gas but it does now", Emergency),
    ]);
}

/// Round 4, second pass: more of the same categories, in words the first
/// pass did not cover, and their look-alikes.
#[test]
fn round_4_second_pass() {
    use Intent::*;
    expect(&[
        // Contact refused in any words; the customer's info; the texts as junk.
        ("please stop reaching out", OptOut),
        ("i do not wish to be contacted", OptOut),
        ("Take my info out of your system", OptOut),
        ("enough of this crap", OptOut),
        ("cut it out", OptOut),
        ("no me interesa, bórrenme", OptOut),
        ("我不想再收到短信", OptOut),
        ("bỏ số tôi ra khỏi danh sách", OptOut),
        ("i will reach out if we need anything", NotInterested),
        ("don't bother coming, we fixed it", NotInterested),
        ("sacame una cita para el lunes", Booking),
        // Cold by the forecast; a pipe gushing; a whiff while lighting the stove.
        ("heat's out, single digits outside", Emergency),
        ("no heat, kids are shivering", Emergency),
        ("no one answered, the pipe is still gushing", Emergency),
        ("热水器漏水漏得很厉害", Emergency),
        ("I was spraying the garden hose", Other),
        ("we smelled gas for a second when lighting the stove", Other),
        (
            "there was a little smoke when i turned on the heat for the first time this year",
            Other,
        ),
        ("the house is 55 inside, heat is fine, just set low", Other),
        ("how much to move a thermostat 6 ft", Pricing),
        // Help, opt-in and not interested.
        ("did I sign up for something?", Help),
        ("do I know you", Help),
        ("yes I want texts", OptIn),
        ("vuelvan a enviarme mensajes", OptIn),
        ("maybe later", NotInterested),
        ("I'll call if I need you", NotInterested),
        ("I actually read the manual and it says to reset it", Other),
        ("how do i set it up", Other),
        // Carbon monoxide without the word.
        (
            "generator fumes in the garage and my head is pounding",
            Emergency,
        ),
        ("exhaust fan is noisy, wife is sick of it", Booking),
    ]);
}

// Round 5 of issue #21: categories missed on the spent round 4 held-out
// corpora (heldout4-texts-l, heldout4-voicemail-i, heldout3-voicemail-g),
// each checked with messages written for the category and its look-alikes.

/// Spanish opt-out in the forms the earlier rounds missed: "baja" with only
/// courtesy around it, the tú form of remove + my number ("borra mi
/// número"), and asking how to stop receiving the texts.
#[test]
fn round_5_spanish_opt_out_forms() {
    use Intent::*;
    expect(&[
        ("baja porfa", OptOut),
        ("denme de baja por favor", OptOut),
        ("Desuscribir", OptOut),
        ("ya basta, baja", OptOut),
        ("borra mi número porfavor", OptOut),
        ("quítame de la lista por favor", OptOut),
        ("elimina mi numero de sus mensajes", OptOut),
        ("sácame de su lista", OptOut),
        ("cómo dejo de recibir estos mensajes?", OptOut),
        ("quiero dejar de recibir los textos", OptOut),
        ("como dejamos de recibir las ofertas", OptOut),
        ("desuscríbanme", OptOut),
        // Look-alikes.
        ("el agua baja muy lento por el drenaje", Other),
        ("sácame una cita para el viernes", Booking),
        (
            "me di de baja sin querer, quiero volver a recibir mensajes",
            OptIn,
        ),
        ("quiero seguir recibiendo los recordatorios", OptIn),
        ("borra la cita del lunes y ponla el martes", Booking),
    ]);
}

/// No heat said the way people (and speech-to-text) say it: "not kicking
/// on", "not turning on", "not firing up", "the furnish went out"; still
/// needs the cold or someone at risk.
#[test]
fn round_5_heat_not_kicking_on() {
    use Intent::*;
    expect(&[
        (
            "furnace isn't kicking on and it's 10 degrees outside, my dad is on oxygen",
            Emergency,
        ),
        (
            "the heat's not turning on and we have a newborn, its freezing",
            Emergency,
        ),
        (
            "boiler not firing up, 5 below outside and my wife is pregnant",
            Emergency,
        ),
        (
            "uh the furnish went out and its like zero outside and i got a baby here",
            Emergency,
        ),
        (
            "heater doesn't come on at all and it's getting really cold in here with the kids under 5",
            Emergency,
        ),
        // Look-alikes.
        (
            "the furnace isn't kicking on sometimes, no rush, can someone look next week",
            Booking,
        ),
        ("the furnish is making a noise, can someone look next week", Booking),
        ("the heat is kicking on fine now, thanks", NotInterested),
    ]);
}

/// Hazards said in Tagalog and Spanish word forms the vocabularies lacked:
/// Tagalog smell verbs ("umaamoy ng gas"), a ceiling that gave way
/// ("bumigay", "bumagsak", "gumuho"), Spanish "agua negra" out of a shower
/// ("regadera"); and "sower" for sewer in transcripts.
#[test]
fn round_5_hazard_word_forms() {
    use Intent::*;
    expect(&[
        ("umaamoy ng gas dito sa bahay, pakipunta agad", Emergency),
        ("nakakaamoy kami ng gas sa kusina", Emergency),
        ("bumigay na yung kisame sa sala, baha na", Emergency),
        ("gumuho yung kisame dahil sa tulo", Emergency),
        ("sale agua negra por la regadera y el inodoro", Emergency),
        ("está saliendo agua negra del drenaje en el baño", Emergency),
        ("the sower backed up into the basement floor", Emergency),
        // Look-alikes: resolved.
        ("hindi na umaamoy ng gas, naayos na, salamat", NotInterested),
        ("ya no sale agua negra, ya quedó, gracias", NotInterested),
    ]);
}

/// A hazard supposed, not happening: "if i had a gas leak", "let's say",
/// "suppose", Spanish "si tuviera"; a hazard that did happen ("we had a gas
/// leak and it's still leaking") stays an emergency.
#[test]
fn round_5_supposed_hazard() {
    use Intent::*;
    expect(&[
        (
            "how much would it cost if we had a burst pipe on a sunday",
            Pricing,
        ),
        (
            "let's say my basement flooded at 2am, what's the after hours rate",
            Pricing,
        ),
        (
            "suppose the furnace died on christmas, do you charge more",
            Pricing,
        ),
        (
            "si tuviera una fuga de gas en la noche cuanto me cobran",
            Pricing,
        ),
        // Look-alikes: happening.
        (
            "we had a gas leak earlier and it's still leaking now",
            Emergency,
        ),
        ("gas smell in the kitchen right now, please come", Emergency),
        (
            "if i had to guess the pipe burst an hour ago, water everywhere",
            Emergency,
        ),
    ]);
}

/// "You keep texting / sending" describes the unwanted texts; it is not a
/// wish for more of them, and with a stop or remove in the same clause it
/// is an opt-out. (A stop in a later clause is not yet read: see the doc.)
#[test]
fn round_5_you_keep_texting_is_a_complaint() {
    use Intent::*;
    expect(&[
        (
            "the messages you keep sending go to my personal phone, please stop",
            OptOut,
        ),
        (
            "these texts come to my work cell and i can't have that, stop please",
            OptOut,
        ),
        (
            "u keep sending reminders to my moms phone please stop",
            OptOut,
        ),
        ("y'all keep texting my number please remove it", OptOut),
        // Look-alikes.
        (
            "text me when you're on the way and please stop by after 3",
            Booking,
        ),
        ("please keep texting me the reminders", OptIn),
        ("keep sending the reminders, they help", OptIn),
    ]);
}

// Round 6 of issue #21: categories missed on the spent round 5 held-out
// corpora (heldout5-texts-n, heldout5-voicemail-j), fixed by structure or
// category, each checked with messages written for the category and its
// look-alikes.

/// Water reaching electricity (leaking into the panel, dripping out of a
/// light, touching the outlets) is an electrical emergency; electricity
/// seen hot (glowing, charred) too.
#[test]
fn round_6_water_reaching_electricity() {
    use Intent::*;
    expect(&[
        (
            "rain is pouring into the breaker box in the garage",
            Emergency,
        ),
        (
            "the upstairs tub overflowed and its dripping onto the light fixture in the kitchen",
            Emergency,
        ),
        ("water is leaking on the wires in the basement", Emergency),
        (
            "the water heater burst and the water is touching the power strip by the washer",
            Emergency,
        ),
        (
            "leak from the ceiling is running down onto the electrical panel",
            Emergency,
        ),
        (
            "the water hasn't stopped and the ceiling light has water coming out of it",
            Emergency,
        ),
        ("the outlet behind the couch is glowing red", Emergency),
        ("extension cord is glowing and smells hot", Emergency),
        (
            "wires in the attic junction box are charred and the lights flicker",
            Emergency,
        ),
        // Look-alikes.
        (
            "the water meter is leaking a little near the street",
            Booking,
        ),
        (
            "small leak near the outlet under the sink when it rains, can someone look next week",
            Booking,
        ),
        ("need an outlet installed near the water heater", Booking),
        (
            "can you install a switch with a night light that glows",
            Booking,
        ),
    ]);
}

/// Water told by its amount or spread, not a verb: "an inch deep", "going
/// into the dining room", "WATER. EVERYWHERE."; dropped letters in a hurried
/// text ("comng"); Chinese sewage back-up (反水, 脏水).
#[test]
fn round_6_water_by_amount_or_spread() {
    use Intent::*;
    expect(&[
        (
            "there's water an inch deep all over the laundry room",
            Emergency,
        ),
        ("the basement is a foot deep", Emergency),
        (
            "the dishwasher leak is spreading into the living room",
            Emergency,
        ),
        (
            "water from the washer is running into the hallway and the bedroom",
            Emergency,
        ),
        ("help. water. all over.", Emergency),
        ("ther is water comng thru the floor", Emergency),
        ("马桶反水，地上全是脏水", Emergency),
        ("下水道堵了，污水从地漏冒出来", Emergency),
        // Look-alikes.
        (
            "the crack in the driveway is an inch deep, can you fix it",
            Booking,
        ),
        ("snow was a foot deep, can you check the ac unit", Booking),
        ("下水道有点慢，明天可以来看看吗", Booking),
        ("the water stopped, we're good now thanks", NotInterested),
    ]);
}

/// A CO alarm with the family already outside needs someone now; fuel
/// leaking indoors; a power cut with breathing equipment said in Spanish.
#[test]
fn round_6_co_outside_fuel_and_spanish_medical() {
    use Intent::*;
    expect(&[
        (
            "CO detector going off, we got the kids out and we're standing outside",
            Emergency,
        ),
        (
            "the carbon monoxide alarm went off so we left the house, what now",
            Emergency,
        ),
        ("alarma de monoxido sonando, estamos afuera", Emergency),
        (
            "gas is leaking from the car in the garage, smells strong",
            Emergency,
        ),
        (
            "the generator is leaking gasoline all over the garage floor",
            Emergency,
        ),
        ("heating oil tank leaking in the basement", Emergency),
        (
            "se fue la luz y mi papa usa concentrador de oxigeno",
            Emergency,
        ),
        ("no hay luz y mi mamá tiene un respirador", Emergency),
        // Look-alikes.
        ("how much to install a co detector", Pricing),
        (
            "can you replace the co alarm in the hallway, it's old",
            Booking,
        ),
        ("need a new fuel filter on the oil furnace", Booking),
        ("how much to remove an old oil tank", Pricing),
    ]);
}

/// Opt-out: a bare stop asked of the sender ("can you guys stop"), Spanish
/// texting verbs in any form ("ya no me textees"), and any kind of text
/// turned off ("turn off the follow up texts").
#[test]
fn round_6_opt_out_asked_of_the_sender() {
    use Intent::*;
    expect(&[
        ("can you guys stop. seriously", OptOut),
        ("could you stop please", OptOut),
        ("will you just stop", OptOut),
        ("omg can u stop", OptOut),
        ("you guys need to stop", OptOut),
        ("ya no me textees por favor", OptOut),
        ("no me texteen mas", OptOut),
        ("dejen de textearme", OptOut),
        ("no me mandes mas mensajes", OptOut),
        ("paren de textear", OptOut),
        ("turn off the follow up texts please", OptOut),
        ("can you turn off the appointment reminders", OptOut),
        ("please turn the promos off", OptOut),
        // Look-alikes.
        ("can you stop and remove me", OptOut),
        ("can you stop by tomorrow", Booking),
        (
            "can you stop and look at the sink while you're here",
            Booking,
        ),
        (
            "could you guys stop and check the water heater too when you come thursday",
            Booking,
        ),
        ("could you guys stop by after 3", Booking),
        ("no me mandaron al técnico, pueden venir mañana", Booking),
        ("turn off the breaker then text me", Other),
    ]);
}

/// A change of day or time is a booking even next to a cancel ("cancel
/// wed, can we do sat instead", "cancel wait no reschedule"); a number
/// that "would work" is a time; "no need for anyone to come out" declines
/// the visit though the negation is further back than the window; the tech
/// who did not come ("no llegó, puede venir mañana") negates nothing after.
#[test]
fn round_6_booking_change_of_day_or_time() {
    use Intent::*;
    expect(&[
        ("need to cancel friday, could we do monday instead", Booking),
        ("cant make tues anymore, how about thurs instead", Booking),
        ("can we reschedule for next week", Booking),
        ("cancel wait no reschedule to saturday", Booking),
        ("no puedo el lunes, cambiar la cita para el martes", Booking),
        ("please cancel friday, we won't need it", NotInterested),
        ("don't want to reschedule, we'll pass", NotInterested),
        ("after work so like 6 would work", Booking),
        ("5:30 works for me", Booking),
        ("ok 10 would be great", Booking),
        ("2 of the burners work", Other),
        ("i have 2 kids who would work for you lol", Other),
        ("12 works for me", Booking),
        ("can we do 3 instead of 1", Booking),
        ("can you come by thursday morning", Booking),
        ("el tecnico no vino ayer, pueden venir hoy", Booking),
        ("the tech didn't show, can you come tomorrow", Booking),
        (
            "no need for anyone to come out, it was the breaker",
            NotInterested,
        ),
    ]);
}

/// An offer asked about is pricing unless it is what is booked ("book me
/// in for the special"); paying in parts, a deposit, the monthly cost; a
/// Spanish quote asked for; a payment made is news, not pricing.
#[test]
fn round_6_pricing_offers_and_paying_in_parts() {
    use Intent::*;
    expect(&[
        ("do you have any specials on furnace tune ups", Pricing),
        ("is the 15% off still valid", Pricing),
        ("does that coupon apply to drain cleaning", Pricing),
        ("saw the promo, does it apply to water heaters too", Pricing),
        ("sign me up for the special, anytime next week", Booking),
        ("book us for the fall deal, mornings are best", Booking),
        (
            "can i pay half up front and the rest when it's done",
            Pricing,
        ),
        ("do you take a deposit and then payments", Pricing),
        ("what's the monthly on the service plan", Pricing),
        ("necesito una cotizacion para un calentador nuevo", Pricing),
        ("me pueden cotizar un aire acondicionado", Pricing),
        ("i already paid the invoice through zelle", Other),
        ("ya pague por venmo, gracias", Other),
    ]);
}

/// Which one of several is this (help); a problem that solved itself, a
/// change of mind about the job, a request closed out (not interested);
/// "changed my mind" is an opt-in only about the texts; "start getting
/// them again", "reactivar los mensajes" (opt-in); a message for the wrong
/// chat is not a booking.
#[test]
fn round_6_help_not_interested_opt_in() {
    use Intent::*;
    expect(&[
        ("which one is this, i called three plumbers today", Help),
        (
            "sorry which company are you, theres a few with that name",
            Help,
        ),
        ("i don't know what bluebird is", Help),
        ("which location is this, the north one?", Help),
        ("which day is this for, tuesday works", Booking),
        ("never mind, problem solved", NotInterested),
        ("it sorted itself out, thanks anyway", NotInterested),
        (
            "changed my mind, we're not doing the bathroom",
            NotInterested,
        ),
        ("no longer in need of a plumber, thanks", NotInterested),
        (
            "please close out my request, we're selling the house",
            NotInterested,
        ),
        ("changed my mind, please text me again", OptIn),
        ("changed my mind, i want the texts", OptIn),
        ("how do i start getting the texts again", OptIn),
        ("quiero reactivar los mensajes", OptIn),
        ("don't start getting them again, stop", OptOut),
        (
            "can you pick up milk on your way home? sorry wrong chat",
            Other,
        ),
    ]);
}

/// How to answer the texts at all: a reply that came back undeliverable,
/// "how do i respond to you"; Spanish "hay alguien ahí" as the English "is
/// anyone there".
#[test]
fn round_6_how_to_answer_the_texts() {
    use Intent::*;
    expect(&[
        ("my reply bounced back, how do i reply to you", Help),
        ("how do i respond to these, just text back?", Help),
        ("hola? hay alguien ahi", Help),
        ("it says undeliverable when i text this number", Help),
        // Look-alike.
        ("my email to the bank bounced back lol wrong chat", Other),
    ]);
}

/// A plain "please stop" after the texts were named in an earlier clause;
/// taken off the lists (plural); a pipe spraying though the fixture is
/// named between ("the pipe under the sink is spraying everywhere"), also
/// after an opt-out preface.
#[test]
fn round_6_stop_after_the_texts_and_a_pipe_far_from_its_verb() {
    use Intent::*;
    expect(&[
        (
            "these reminders come every single day and honestly please stop",
            OptOut,
        ),
        (
            "hey its dan i get your texts every morning at 6am and it wakes my baby so please just stop",
            OptOut,
        ),
        (
            "i want to be taken off your mailing and texting lists",
            OptOut,
        ),
        ("take me off of the text message list please", OptOut),
        (
            "i don't want your promos but right now the pipe under the sink is spraying everywhere",
            Emergency,
        ),
        (
            "the supply line behind the toilet just snapped and is gushing",
            Emergency,
        ),
        // Look-alikes.
        ("the toilet keeps running please stop by and fix it", Booking),
        (
            "please stop by tomorrow and check the water heater, you can text me when on the way",
            Booking,
        ),
        (
            "there's a line of storms coming tonight it's raining hard can you check the gutters",
            Booking,
        ),
    ]);
}

/// Water by a likeness ("like a swimming pool", "like a river running
/// through my kitchen"), a floor covered in water or getting deeper, a
/// soaked floor spreading to another room; a panel hissing with flashes.
#[test]
fn round_6_water_by_likeness_and_a_panel_flashing() {
    use Intent::*;
    expect(&[
        (
            "yeah hi um the basement is like a swimming pool right now",
            Emergency,
        ),
        (
            "hi there's like a river running through my kitchen from under the sink",
            Emergency,
        ),
        (
            "the basement floor is covered in water and its getting deeper",
            Emergency,
        ),
        (
            "the laundry room floor is soaked and its spreading to the carpet in the den",
            Emergency,
        ),
        ("the panel is hissing and popping and i see flashes", Emergency),
        // Look-alikes.
        (
            "the backyard is like a lake after every rain, can you come look at a french drain",
            Booking,
        ),
        (
            "the shower pressure is like a waterfall now, love it, can you also fix the sink friday",
            Booking,
        ),
        (
            "the breaker keeps popping when i run the microwave, can you come look",
            Booking,
        ),
        (
            "the floor is covered in dust from the remodel, can you come clean the vents",
            Booking,
        ),
    ]);
}

/// More opt-out forms found by messages written for the category: Spanish
/// negative commands of "textear" ("no textes más"), "para ya con los
/// mensajes", "no quiero que me manden mensajes"; "shut these texts off";
/// "no longer interested in receiving messages".
#[test]
fn round_6_opt_out_more_forms() {
    use Intent::*;
    expect(&[
        ("no textes mas por favor", OptOut),
        ("para ya con los mensajes", OptOut),
        ("no quiero que me manden mensajes", OptOut),
        ("shut these texts off please", OptOut),
        ("no longer interested in receiving messages", OptOut),
        // Look-alikes.
        (
            "no text from the tech yet, is he still coming today",
            Booking,
        ),
        ("quiero que me manden un tecnico mañana", Booking),
        // (Not an opt-out: the water is what is shut off.)
        (
            "shut the water off and text me when you're on the way",
            Other,
        ),
    ]);
}

/// A smoke alarm that will not stop with a haze or smoke seen (its own
/// section: the fire section ignores "smoke alarm"); "the sealing" heard for
/// the ceiling, "out let" for outlet; an alarm that won't stop is not water
/// that won't stop.
#[test]
fn round_6_smoke_alarm_with_haze_and_mishearings() {
    use Intent::*;
    expect(&[
        (
            "hi uh the smoke alarm won't stop and there's a haze in the kitchen but i don't see fire",
            Emergency,
        ),
        (
            "fire alarm keeps going off and its smoky in the basement",
            Emergency,
        ),
        (
            "hello the sealing in the living room is bulging with water",
            Emergency,
        ),
        ("the out let by the sink is sparking", Emergency),
        // Look-alikes.
        (
            "the smoke alarm won't stop chirping, need new batteries, can you come",
            Booking,
        ),
        (
            "smoke detector keeps going off every time i cook toast, can you move it",
            Booking,
        ),
        (
            "smoke alarm won't stop going off when we shower, can you relocate it tuesday",
            Booking,
        ),
    ]);
}

/// Messages that are not from a customer about a job are other: a personal
/// message meant for the owner ("hey babe ... pick up the kids"), a bank or
/// listing vendor asking for a call back at your convenience.
#[test]
fn round_6_not_a_customer() {
    use Intent::*;
    expect(&[
        (
            "hi this is jen from the bank calling about your business account please call us back at your convenience",
            Other,
        ),
        (
            "hey babe it's me can you pick up the kids today i'm stuck at work",
            Other,
        ),
        (
            "hi this is amy from google my business your listing needs to be verified",
            Other,
        ),
        // Look-alikes.
        (
            "hi the heater is stuck on, can you come today? love you guys, you're the best",
            Booking,
        ),
        (
            "can you come by at your convenience to look at the sink",
            Booking,
        ),
        (
            "please call me back at your convenience, the dishwasher is leaking and we need someone this week",
            Booking,
        ),
    ]);
}

/// Taken off the schedule or the calendar is a cancelled job, not an
/// opt-out and not a booking; taken off the list or the texts still is.
#[test]
fn round_6_off_the_schedule_is_not_off_the_list() {
    use Intent::*;
    expect(&[
        (
            "hi we decided to go with another company so you can take us off the schedule thanks",
            NotInterested,
        ),
        (
            "please take me off the calendar for friday, we found someone else",
            NotInterested,
        ),
        // Look-alikes.
        (
            "take me off your list and off the schedule, stop texting",
            OptOut,
        ),
        ("take me off your texts", OptOut),
    ]);
}

/// Water moving toward electricity or at its level ("running toward the
/// furnace and the extension cord", "an inch from the outlets"), not a
/// water heater or water line that merely sits near one; gasoline smelled
/// indoors near a flame or in the house.
#[test]
fn round_6_water_near_electricity_and_gasoline_smelled() {
    use Intent::*;
    expect(&[
        (
            "my water heater is leaking and the water is running toward the furnace and the extension cord",
            Emergency,
        ),
        (
            "sump pump failed and the water is an inch from the outlets",
            Emergency,
        ),
        (
            "smell of gasoline in the basement near the furnace",
            Emergency,
        ),
        ("the water heater is leaking onto the outlet", Emergency),
        ("water line is dripping onto the breaker panel", Emergency),
        // Look-alikes.
        (
            "water heater is close to the outlet, can you move the outlet next week",
            Booking,
        ),
        (
            "the garage smells like gasoline from the lawn mower, can you install a vent fan",
            Booking,
        ),
        (
            "water was touching the outlet last year during the flood, can you check the wiring",
            Booking,
        ),
    ]);
}

/// Look-alikes of round 6's emergency structures, found by writing
/// non-emergencies with the same words: a CO detector to replace while the
/// family is out, a status light glowing, a room "like a swimming pool of
/// toys".
#[test]
fn round_6_emergency_look_alikes() {
    use Intent::*;
    expect(&[
        (
            "the carbon monoxide detector needs replacing, we're out of the house till 5 so come after",
            Booking,
        ),
        (
            "there's a glowing light on the furnace panel, is that normal? can someone look",
            Booking,
        ),
        ("lol my kids' room looks like a swimming pool of toys", Other),
        (
            "the dishwasher leaks a little onto the floor, can you come tuesday",
            Booking,
        ),
        (
            "water stains on the ceiling around the light fixture from an old leak, can you look",
            Booking,
        ),
        // The structures themselves still hold.
        (
            "co alarm going off we are waiting outside in the car",
            Emergency,
        ),
        ("the basement is like a swimming pool", Emergency),
    ]);
}

/// A fix told with its time is news, not a time offered ("my husband fixed
/// it this morning"); "not worth fixing"; calling instead of texting asked.
#[test]
fn round_6_a_fix_with_its_time() {
    use Intent::*;
    expect(&[
        ("my husband fixed it this morning", NotInterested),
        (
            "it's not worth fixing, we'll replace the unit ourselves",
            NotInterested,
        ),
        ("can i call you instead of texting", Help),
        // Look-alikes.
        (
            "fixed it this morning but it broke again, tomorrow at 9 works",
            Booking,
        ),
        (
            "the guy fixed the sink yesterday but now the toilet is clogged, can you come tomorrow",
            Booking,
        ),
        ("tuesday at 9 works", Booking),
    ]);
}

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
