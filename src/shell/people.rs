//! The office's people: adding them (with a one-time sign-in link), setting
//! a password through the link, signing in and out. The rules (roles, what
//! a password must be, how many tries) are `core::people`'s; this hashes,
//! stores and counts.
//!
//! Secrets never rest in the database in the clear: passwords as argon2
//! hashes, session ids and link tokens as SHA-256 digests.

use crate::core::people::{self, Businesses, Role};
use crate::shell::Shell;
use crate::store::{StoreError, UserRow};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use sha2::{Digest, Sha256};

/// A signed-in person as the app sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub businesses: Businesses,
}

impl Person {
    fn from_row(u: &UserRow) -> Option<Person> {
        Some(Person {
            id: u.id,
            name: u.name.clone(),
            role: Role::parse(&u.role)?,
            businesses: Businesses::parse(&u.businesses),
        })
    }
}

/// A session just made: the cookie's value and the session's form token.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: String,
    pub csrf: String,
    pub person: Person,
}

#[derive(Debug, thiserror::Error)]
pub enum PeopleError {
    /// The request is wrong; the message says how to fix it.
    #[error("{0}")]
    Invalid(String),
    /// Wrong name or password (which one is not said).
    #[error("wrong name or password")]
    Refused,
    /// Too many failures lately for this name or address.
    #[error("too many failed sign-ins; try again in 15 minutes")]
    TooMany,
    /// The link was used, expired, or never existed.
    #[error("this sign-in link was used or has expired; ask the owner for a new one")]
    LinkGone,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A random token, URL-safe.
pub fn token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored for a token.
pub fn digest(token: &str) -> String {
    let d = Sha256::digest(token.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

async fn hash_password(password: String) -> Result<String, PeopleError> {
    tokio::task::spawn_blocking(move || {
        let salt_bytes: [u8; 16] = rand::random();
        let salt = SaltString::encode_b64(&salt_bytes).expect("16 bytes make a salt");
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| PeopleError::Invalid(format!("cannot hash that password: {e}")))
    })
    .await
    .expect("hashing does not panic")
}

/// Verifies off the async threads (argon2 takes tens of milliseconds by
/// design). A missing hash is checked against a throwaway one so that an
/// unknown name takes as long as a wrong password.
async fn verify_password(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let dummy = DUMMY.get_or_init(|| {
            let salt = SaltString::encode_b64(&[7u8; 16]).expect("salt");
            Argon2::default()
                .hash_password(b"not anyone's password", &salt)
                .expect("hash")
                .to_string()
        });
        let (h, real) = match &hash {
            Some(h) => (h.as_str(), true),
            None => (dummy.as_str(), false),
        };
        let Ok(parsed) = PasswordHash::new(h) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && real
    })
    .await
    .unwrap_or(false)
}

/// A name or address as a log line may show it: escaped, and a phone
/// number masked (someone typing their number as a name).
pub fn loggable(s: &str) -> String {
    let cut: String = s.chars().take(60).collect();
    crate::domain::mask_numbers(&cut.escape_debug().to_string())
}

impl Shell {
    /// Adds a person; returns their id and the one-time sign-in token.
    pub async fn add_person(
        &self,
        name: &str,
        role: Role,
        businesses: &Businesses,
    ) -> Result<(i64, String), PeopleError> {
        people::check_name(name).map_err(PeopleError::Invalid)?;
        if let Businesses::Only(ids) = businesses {
            if ids.is_empty() {
                return Err(PeopleError::Invalid(
                    "name at least one business, or all of them".into(),
                ));
            }
            for id in ids {
                if self.config.business(id).is_none() {
                    let known: Vec<&str> = self
                        .config
                        .businesses
                        .iter()
                        .map(|b| b.id.as_str())
                        .collect();
                    return Err(PeopleError::Invalid(format!(
                        "no business {id:?} in the config (there are: {})",
                        known.join(", ")
                    )));
                }
            }
        }
        let now = self.clock.now();
        let t = token();
        let id = self
            .store
            .add_user(
                name,
                role.as_str(),
                &businesses.stored(),
                &digest(&t),
                now + people::LINK,
                now,
            )
            .await?
            .ok_or_else(|| PeopleError::Invalid(format!("{name:?} is already a user")))?;
        Ok((id, t))
    }

    /// A fresh one-time link for someone who forgot their password.
    pub async fn new_sign_in_link(&self, name: &str) -> Result<String, PeopleError> {
        let user = self
            .store
            .user_by_name(name)
            .await?
            .ok_or_else(|| PeopleError::Invalid(format!("no user {name:?}")))?;
        let t = token();
        let now = self.clock.now();
        self.store
            .add_sign_in_link(user.id, &digest(&t), now + people::LINK)
            .await?;
        Ok(t)
    }

    /// Who a sign-in link is for, while it is good.
    pub async fn link_person(&self, link: &str) -> Result<Option<Person>, PeopleError> {
        let u = self
            .store
            .link_user(&digest(link), self.clock.now())
            .await?;
        Ok(u.as_ref().and_then(Person::from_row))
    }

    /// Sets the password through a link (once) and signs the person in.
    pub async fn set_password(&self, link: &str, password: &str) -> Result<SignedIn, PeopleError> {
        let person = self.link_person(link).await?.ok_or(PeopleError::LinkGone)?;
        people::check_password(password, &person.name).map_err(PeopleError::Invalid)?;
        let hash = hash_password(password.to_string()).await?;
        self.store
            .redeem_link(&digest(link), &hash, self.clock.now())
            .await?
            .ok_or(PeopleError::LinkGone)?;
        self.open_session(person).await
    }

    async fn open_session(&self, person: Person) -> Result<SignedIn, PeopleError> {
        let (session, csrf) = (token(), token());
        let now = self.clock.now();
        self.store
            .create_session(
                &digest(&session),
                person.id,
                &csrf,
                now,
                now + people::SESSION,
            )
            .await?;
        Ok(SignedIn {
            session,
            csrf,
            person,
        })
    }

    /// Signs in by name and password, within the failure limits. A failure
    /// is counted for the name and the address, and logged (escaped).
    pub async fn sign_in(
        &self,
        name: &str,
        password: &str,
        address: &str,
    ) -> Result<SignedIn, PeopleError> {
        let now = self.clock.now();
        let since = now - people::FAILURE_WINDOW;
        let name_key = format!("name:{}", name.to_lowercase());
        let address_key = format!("ip:{address}");
        let by_name = self.store.sign_in_failures(&name_key, since).await?;
        let by_address = self.store.sign_in_failures(&address_key, since).await?;
        if !people::may_try(by_name, by_address) {
            tracing::warn!(
                name = %loggable(name),
                address = %loggable(address),
                "sign-in refused: too many failures"
            );
            return Err(PeopleError::TooMany);
        }
        let user = self.store.user_by_name(name).await?;
        let ok = verify_password(
            password.to_string(),
            user.as_ref()
                .filter(|u| !u.disabled)
                .and_then(|u| u.password_hash.clone()),
        )
        .await;
        match user.as_ref().filter(|_| ok).and_then(Person::from_row) {
            Some(person) => self.open_session(person).await,
            None => {
                tracing::warn!(
                    name = %loggable(name),
                    address = %loggable(address),
                    "sign-in failed"
                );
                self.store
                    .record_sign_in_failure(&[&name_key, &address_key], now, since)
                    .await?;
                Err(PeopleError::Refused)
            }
        }
    }

    /// The person of a live session, with the session's form token.
    pub async fn session(&self, session: &str) -> Result<Option<(Person, String)>, PeopleError> {
        let s = self
            .store
            .session(&digest(session), self.clock.now())
            .await?;
        Ok(s.and_then(|(u, csrf)| Person::from_row(&u).map(|p| (p, csrf))))
    }

    pub async fn sign_out(&self, session: &str) -> Result<(), PeopleError> {
        Ok(self.store.end_session(&digest(session)).await?)
    }

    /// Ends every session of this person, on every device.
    pub async fn sign_out_everywhere(&self, person_id: i64) -> Result<u64, PeopleError> {
        Ok(self.store.end_sessions_of(person_id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_escape_names_and_mask_numbers() {
        let l = loggable("eve\n\u{1b}[2Jroot");
        assert!(!l.contains('\n') && !l.contains('\u{1b}'), "{l}");
        assert!(!loggable("+15125550147").contains("5550147"));
    }

    #[test]
    fn tokens_are_random_and_stored_as_digests() {
        let (a, b) = (token(), token());
        assert_ne!(a, b);
        assert_eq!(digest(&a).len(), 64);
        assert_ne!(digest(&a), a);
    }
}
