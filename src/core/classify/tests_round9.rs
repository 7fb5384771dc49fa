//! Round 9 of issue #21: the non-emergency confusions, each family written
//! from the label policy with its look-alikes, not copied from a corpus.

use super::tests::expect;
use super::*;

/// More callers who are not customers: a tradesman asking for work, a
/// driver's or a neighbour's complaint about the crew, a utility's notice,
/// a customer's office updating its billing contact.
#[test]
fn more_non_customers_are_other() {
    use Intent::*;
    expect(&[
        ("i'm a licensed electrician with ten years of experience, are you hiring", Other),
        ("hi i do tile and drywall, if you ever need a sub for patch work give me a call", Other),
        ("your truck is parked across my driveway, can you have the driver move it", Other),
        ("one of your vans was driving like a maniac on the highway and cut me off", Other),
        ("i live across the street from the house where your guys are working, can they not start before 8", Other),
        ("this is the water department, we'll be shutting off the main on elm tuesday for valve work", Other),
        ("please update the billing contact on our account, it's now jane", Other),
        // Look-alikes: customers.
        ("can your guys park in the driveway when they come friday", Booking),
        ("can the tech come tuesday after 3, if you guys need anybody home my son will be there", Booking),
    ]);
}

/// Help about the texts: a text cut off, what a text means, whether one is
/// signed up, which number to use, whether a text is really from them.
#[test]
fn more_help_about_the_texts() {
    use Intent::*;
    expect(&[
        ("your text got cut off, what was the rest of it", Help),
        (
            "i got a message from this number that says reply stop, am i signed up for something",
            Help,
        ),
        ("what number do i text after hours", Help),
        ("is this really from you or is it spam", Help),
        ("did my wife call you? not sure what this is about", Help),
        ("¿me van a cobrar por responder?", Help),
        // Look-alikes.
        (
            "how much do you charge for a one time treatment or is it monthly",
            Pricing,
        ),
        (
            "the water got cut off this morning, can someone come look",
            Booking,
        ),
    ]);
}

/// Bookings: an accepted quote, a price said not to be the question, a
/// late tech, the same tech asked for by name, access to the house.
#[test]
fn more_bookings() {
    use Intent::*;
    expect(&[
        (
            "we got the quote and we're good with it, let's get it on the schedule",
            Booking,
        ),
        (
            "i'd like to schedule the tune up, i'm not asking about the price",
            Booking,
        ),
        (
            "the tech was supposed to be here at 9, what's the eta",
            Booking,
        ),
        (
            "can dave come again next week, he did our disposal last time",
            Booking,
        ),
        (
            "can the tech use the back gate tomorrow, the front is blocked",
            Booking,
        ),
        ("can we do early, like 7", Booking),
        // Look-alikes.
        ("the quote was a bit high, can you do better", Pricing),
    ]);
}

/// Declines: another company chosen, a problem that was nothing, a
/// lockout solved, and financing lenders asked about as pricing.
#[test]
fn more_declines_and_financing() {
    use Intent::*;
    expect(&[
        (
            "we decided to go with another company so we won't be needing the estimate",
            NotInterested,
        ),
        (
            "never mind, we already got someone out here and it's taken care of",
            NotInterested,
        ),
        (
            "it was just condensation, don't worry about coming out",
            NotInterested,
        ),
        ("nvm got in, my neighbor had a spare key", NotInterested),
        ("do you take care credit or synchrony", Pricing),
        // Look-alike.
        ("i'm locked out, can someone come let me in", Booking),
    ]);
}

/// A number that is no longer the customer's, asked removed: an opt-out,
/// not a question about the texts.
#[test]
fn a_number_not_mine_removed() {
    use Intent::*;
    expect(&[
        ("this isn't my number anymore, please remove it", OptOut),
        ("wrong number, delete it from your list", OptOut),
        // The "don't want" family widened: "no longer wish to".
        ("i no longer wish to get these messages", OptOut),
        // Look-alikes.
        ("this is not my number, it's my husband's", Help),
        ("wrong number, sorry", Other),
        (
            "we no longer wish to get the furnace replaced, not interested",
            NotInterested,
        ),
    ]);
}
