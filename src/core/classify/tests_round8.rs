//! Round 8 of issue #21: the non-emergency confusions (help / other /
//! booking / opt-in / not interested), each category written from the label
//! policy with its look-alikes, not copied from a corpus.

use super::tests::expect;
use super::*;

/// Callers who are not customers (vendors, marketers, job seekers, the
/// city, other contractors, neighbours, sponsorship asks) are "other": their
/// "call me back", "come in", "set up" is not a booking.
#[test]
fn non_customers_are_other() {
    use Intent::*;
    expect(&[
        ("hey it's rick from the supply house, your order of pvc came in, you can grab it anytime tomorrow", Other),
        ("hi this is carla with apex plumbing supply your water heater order is ready for pickup at the counter", Other),
        ("hi this is dan from growthpro we help home service businesses book more jobs, i'd love fifteen minutes with the owner this week", Other),
        ("we help contractors get more five star reviews, can we set up a quick call tomorrow", Other),
        ("hello i'm calling about the service tech position on indeed, i can come in for an interview any day", Other),
        ("hi i sent my resume last week for the apprentice job, just following up, call me back", Other),
        ("this is the city permit office, your permit for 14 elm street is approved, you can pick it up monday", Other),
        ("calling from the building department, the rough in inspection passed at 22 oak drive", Other),
        ("hi i live next door to the house your crew is working on, they started at 6am with the saws and it's way too loud", Other),
        ("hi we're raising money for the little league team, would your company like to sponsor a banner this season", Other),
        ("this is mike i run a small drywall company, if you ever need a sub on your jobs give me a call", Other),
        // Look-alikes: customers who mention the same words.
        ("the inspector said we need a new panel, can you come tomorrow to do it", Booking),
        ("my order of a new water heater, when can you install it", Booking),
        ("the furnace is making a loud noise, can someone come look", Booking),
    ]);
}

/// Thanks, feedback about a finished job, a payment notice and store
/// hours are "other", not a booking and not a refusal.
#[test]
fn thanks_payments_and_hours_are_other() {
    use Intent::*;
    expect(&[
        (
            "just wanted to say the tech was super nice and the work looks great",
            Other,
        ),
        (
            "the guy who came tuesday was so professional, thanks again",
            Other,
        ),
        ("the check is in the mail", Other),
        ("i paid the invoice this morning", Other),
        ("just letting you know the payment went out today", Other),
        ("what time do you close on saturday", Other),
        ("are you open on sundays", Other),
        ("great job on the water heater, it looks great", Other),
        // Look-alikes.
        (
            "the tech was super nice, can we book him again for the ac next week",
            Booking,
        ),
        ("how much was the invoice again", Pricing),
    ]);
}

/// Help: who or what is this, or about the texting itself.
#[test]
fn help_is_about_the_channel_and_identity() {
    use Intent::*;
    expect(&[
        ("do i text here or do i have to call", Help),
        ("can i just answer by calling", Help),
        ("is this a text only number", Help),
        ("is this the same number as your office", Help),
        ("is this text free", Help),
        ("are you an automated system", Help),
        ("how do i reach a human", Help),
        ("is this a real person", Help),
        ("what's the name of your business", Help),
        ("¿con quién hablo?", Help),
        ("which company is this", Help),
        ("did my text go through", Help),
        ("i texted back an hour ago, did you get it", Help),
        // Look-alikes.
        ("is the estimate free", Pricing),
        // (author-challenge reads "have the tech call when he's on the way" as other)
        ("can the tech call me when he's on the way tomorrow", Other),
        (
            "can the tech call me half an hour before he gets there tomorrow",
            Booking,
        ),
    ]);
}

/// Short and multilingual booking answers, confirmations, landlords, and a
/// routine check asked after a past, fixed hazard.
#[test]
fn short_and_multilingual_bookings() {
    use Intent::*;
    expect(&[
        ("yea come thru whenever tmrw", Booking),
        ("bukas po ng umaga pwede?", Booking),
        ("可以約星期五早上嗎", Booking),
        ("可以约下周一下午吗", Booking),
        ("hi calling to make sure somebody's coming on the fifteenth", Booking),
        ("just making sure someone is still coming out thursday", Booking),
        ("this is the landlord for 40 pine st, my tenant says the tub won't drain, can you send someone, she's home after 3", Booking),
        ("last month the gas company fixed the leak at the meter, they said have a plumber check the line, i'd like to set that up", Booking),
        ("the city fixed the sewer main last week, they told us to get our lateral scoped, can we set that up", Booking),
        // Look-alikes.
        ("last month the gas company fixed the leak, we're all good now thanks", NotInterested),
    ]);
}

/// Asking for the texts.
#[test]
fn opting_in_to_texts() {
    use Intent::*;
    expect(&[
        ("i'd like to sign up for your text alerts", OptIn),
        ("sign me up for the specials texts", OptIn),
        ("how do i opt in to the notifications", OptIn),
        ("yes you can text me updates", OptIn),
        ("can you add my wife's number to the texts", OptIn),
        ("please add my husband to the text reminders", OptIn),
        // Look-alikes.
        ("can you text me when the tech is on the way", Other),
        ("don't add me to any text list", OptOut),
    ]);
}

/// Declining after a price, or too late: not interested, not pricing.
#[test]
fn declines_after_price_or_too_late() {
    use Intent::*;
    expect(&[
        ("too late, already paid someone", NotInterested),
        ("the quote was too much, we'll hold off", NotInterested),
        (
            "your price was way too high, we're going to pass",
            NotInterested,
        ),
        (
            "sorry too late, another guy came out this morning",
            NotInterested,
        ),
        (
            "the estimate was more than we can do right now, we'll wait",
            NotInterested,
        ),
        // Look-alikes.
        ("the quote was a bit high, can you do better", Pricing),
        ("how much for a new water heater", Pricing),
    ]);
}

/// More of the same families: pictures by text, which number the texts
/// come from, unreadable texts, a scam asked about; a bill disputed; an
/// offer booked; a tenant's visit; thanks that name a visit.
#[test]
fn second_pass_families() {
    use Intent::*;
    expect(&[
        ("can i text photos of the water heater to this number", Help),
        ("your text shows up as weird boxes on my phone", Help),
        ("¿esto es una estafa?", Help),
        (
            "will the reminders come from this number or the office",
            Help,
        ),
        (
            "i got the bill and it says 340 but the tech told me 200",
            Pricing,
        ),
        (
            "i'd like to book the furnace tune up special, any day next week",
            Booking,
        ),
        (
            "my tenant at 9 birch says the heater is out, she's home friday morning",
            Booking,
        ),
        ("gracias por venir ayer, ya todo funciona muy bien", Other),
        (
            "i'm not happy, the tech left a mess in the garage, i'd like somebody to know",
            Other,
        ),
        (
            "hi this is the little league, would you sponsor a team this year",
            Other,
        ),
        // Look-alikes.
        ("the tenant moved out, we're all set thanks", NotInterested),
    ]);
}

/// Third pass: a processor's or realtor's call, more help about the
/// channel, and praise that a repair is holding up.
#[test]
fn third_pass_families() {
    use Intent::*;
    expect(&[
        ("hi this is a courtesy call from your merchant services provider about your card processing rates", Other),
        ("is this number monitored or is it automatic", Help),
        ("your text came through garbled, can you resend", Help),
        ("how come i'm getting texts from this number", Help),
        ("is this the same company as the magnet on my fridge", Help),
        ("just letting you know the new valve is holding up great, thanks", Other),
        // Look-alike: praise, then a new visit asked for.
        ("the repair is holding up great, can you come do the other bathroom next week", Booking),
    ]);
}
