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
