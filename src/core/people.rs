//! The office's people: roles, what each may do, which businesses each
//! sees, and the rules for names, passwords and sign-in attempts. Pure: the
//! shell hashes, stores and counts; this says what is allowed.

use chrono::Duration;

/// What a person in the office is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Works the queue: claims, calls back, texts, closes leads.
    Dispatcher,
    /// A dispatcher who also sees the scorecard and is told of late leads.
    Manager,
    /// Everything, and manages the people.
    Owner,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Manager, Role::Dispatcher];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Manager => "manager",
            Role::Dispatcher => "dispatcher",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Adds, disables and signs out other people.
    pub fn manages_people(self) -> bool {
        self == Role::Owner
    }
}

/// Which businesses a person sees: all of them, or a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Businesses {
    All,
    Only(Vec<String>),
}

impl Businesses {
    /// As stored: `*`, or ids separated by commas.
    pub fn parse(stored: &str) -> Businesses {
        if stored.trim() == "*" {
            return Businesses::All;
        }
        Businesses::Only(
            stored
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        )
    }

    pub fn stored(&self) -> String {
        match self {
            Businesses::All => "*".into(),
            Businesses::Only(ids) => ids.join(","),
        }
    }

    pub fn sees(&self, business_id: &str) -> bool {
        match self {
            Businesses::All => true,
            Businesses::Only(ids) => ids.iter().any(|b| b == business_id),
        }
    }
}

/// A sign-in name: 1 to 40 letters, digits, `.`, `-`, `_` (no spaces, so it
/// reads the same in a log line, a link and a form).
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = (1..=40).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "name {:?} must be 1 to 40 letters, digits, '.', '-' or '_'",
            name.escape_debug().to_string()
        ))
    }
}

/// The shortest password accepted. Length is what makes a password hard to
/// guess; no composition rules (NIST SP 800-63B).
pub const PASSWORD_MIN: usize = 10;
/// Past this the hash only costs more time.
pub const PASSWORD_MAX: usize = 200;

pub fn check_password(password: &str, name: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < PASSWORD_MIN {
        return Err(format!("use at least {PASSWORD_MIN} characters"));
    }
    if n > PASSWORD_MAX {
        return Err(format!("use at most {PASSWORD_MAX} characters"));
    }
    if password.eq_ignore_ascii_case(name) {
        return Err("the password may not be your name".into());
    }
    Ok(())
}

/// The window over which failed sign-ins are counted.
pub const FAILURE_WINDOW: Duration = Duration::minutes(15);
/// Failures for one name within the window before it is refused.
pub const FAILURES_PER_NAME: i64 = 5;
/// Failures from one address within the window before it is refused (an
/// office behind one address has several people mistyping).
pub const FAILURES_PER_ADDRESS: i64 = 20;

/// May another attempt be made, given the failures counted in the window?
pub fn may_try(name_failures: i64, address_failures: i64) -> bool {
    name_failures < FAILURES_PER_NAME && address_failures < FAILURES_PER_ADDRESS
}

/// How long a session lasts (a shift and then some).
pub const SESSION: Duration = Duration::hours(12);
/// How long a sign-in link from `ringback user add` stays good.
pub const LINK: Duration = Duration::hours(72);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_only_the_owner_manages_people() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("admin"), None);
        assert!(Role::Owner.manages_people());
        assert!(!Role::Manager.manages_people());
        assert!(!Role::Dispatcher.manages_people());
    }

    #[test]
    fn a_person_sees_only_their_businesses() {
        let all = Businesses::parse("*");
        assert!(all.sees("spartan") && all.sees("acme"));
        let one = Businesses::parse("spartan, ");
        assert_eq!(one, Businesses::Only(vec!["spartan".into()]));
        assert!(one.sees("spartan") && !one.sees("acme"));
        assert_eq!(one.stored(), "spartan");
        assert!(!Businesses::parse("").sees("spartan"));
    }

    #[test]
    fn names_and_passwords() {
        assert!(check_name("maria.g").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a b").is_err());
        let e = check_name("x\u{1b}[31m").unwrap_err();
        assert!(!e.contains('\u{1b}'), "{e}");
        assert!(check_password("short", "maria").is_err());
        assert!(check_password("mariamaria", "MariaMaria").is_err());
        assert!(check_password("correct horse battery", "maria").is_ok());
        assert!(check_password(&"x".repeat(201), "maria").is_err());
    }

    #[test]
    fn sign_ins_are_limited_by_name_and_by_address() {
        assert!(may_try(4, 19));
        assert!(!may_try(5, 0));
        assert!(!may_try(0, 20));
    }
}
