//! SQLite's own page cache, minus a full scan at every commit.
//!
//! At every `COMMIT` SQLite drops cached pages past the end of the
//! database (`xTruncate`). Its page cache remembers the largest page number
//! it has held and, when that is far past the end, walks its whole hash
//! table to find them: with the writer's 32 MB cache, thousands of slots.
//! It is almost always far past the end under load, for an odd reason:
//! when a b-tree split leaves sibling pages out of order, SQLite swaps their
//! numbers through a temporary number, the page holding the 1 GB "pending
//! byte" (page 262,145 at 4 KiB, which SQLite never stores data in), and the
//! cache then remembers that as its largest. Random-keyed indexes (call
//! SIDs, callers, message SIDs) split that way all the time, and profiles
//! at 5,000 calls/s showed the scan as the hottest SQLite function on the
//! writer's path (4 % of the service's CPU, all of it inside `COMMIT` while
//! every other transaction waits).
//!
//! This wraps SQLite's default cache and changes one thing: the swap's
//! temporary number becomes the first number above any page the cache has
//! held, so the commit only looks at the few slots past the end. Everything
//! else, the cache itself included, is SQLite's own code; the swap happens
//! within one b-tree operation, with nothing else touching the cache in
//! between, and leaves no page under either temporary number.

use std::os::raw::{c_int, c_uint, c_void};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use rusqlite::ffi;

/// The byte offset SQLite never stores data at (SQLite's `PENDING_BYTE`).
const PENDING_BYTE: u32 = 0x4000_0000;

/// Swaps given a temporary number near the end instead (tests read it).
pub(super) static SWAPS_REDIRECTED: AtomicU64 = AtomicU64::new(0);

/// SQLite's default page cache methods, which every method here calls.
struct Default(ffi::sqlite3_pcache_methods2);
// SAFETY: the methods are plain C functions and `pArg` is SQLite's own
// (unused by its default cache); they are only ever called, never changed.
unsafe impl Send for Default {}
unsafe impl Sync for Default {}

static DEFAULT: OnceLock<Default> = OnceLock::new();

fn default() -> &'static ffi::sqlite3_pcache_methods2 {
    &DEFAULT
        .get()
        .expect("installed before SQLite initialises")
        .0
}

/// One connection's cache: SQLite's own, plus what the swap needs.
/// SQLite calls a cache's methods from one connection at a time.
struct Cache {
    inner: *mut ffi::sqlite3_pcache,
    /// The number SQLite swaps pages through (the pending byte's page).
    swap_number: c_uint,
    /// At least as large as any page number now in the cache.
    max_key: c_uint,
    /// The number used instead of `swap_number` mid-swap, else 0.
    stand_in: c_uint,
}

/// Installs the wrapper. Call before SQLite initialises (see
/// `lite_config::configure`); returns SQLite's result code.
///
/// # Safety
/// SQLite must not have been initialised, and no other thread may be
/// configuring it.
pub(super) unsafe fn install() -> c_int {
    let mut methods: ffi::sqlite3_pcache_methods2 = unsafe { std::mem::zeroed() };
    // SAFETY: GETPCACHE2 writes the current (default) methods into ours.
    let rc = unsafe {
        ffi::sqlite3_config(
            ffi::SQLITE_CONFIG_GETPCACHE2,
            &mut methods as *mut ffi::sqlite3_pcache_methods2,
        )
    };
    if rc != ffi::SQLITE_OK || methods.xCreate.is_none() {
        return rc;
    }
    if DEFAULT.set(Default(methods)).is_err() {
        return ffi::SQLITE_MISUSE;
    }
    let wrapped = ffi::sqlite3_pcache_methods2 {
        iVersion: 1,
        pArg: std::ptr::null_mut(),
        xInit: Some(init),
        xShutdown: Some(shutdown),
        xCreate: Some(create),
        xCachesize: Some(cachesize),
        xPagecount: Some(pagecount),
        xFetch: Some(fetch),
        xUnpin: Some(unpin),
        xRekey: Some(rekey),
        xTruncate: Some(truncate),
        xDestroy: Some(destroy),
        xShrink: Some(shrink),
    };
    // SAFETY: SQLite copies the methods before returning.
    unsafe {
        ffi::sqlite3_config(
            ffi::SQLITE_CONFIG_PCACHE2,
            &wrapped as *const ffi::sqlite3_pcache_methods2,
        )
    }
}

/// # Safety
/// `p` came from [`create`] and is not destroyed.
unsafe fn cache<'a>(p: *mut ffi::sqlite3_pcache) -> &'a mut Cache {
    unsafe { &mut *(p as *mut Cache) }
}

unsafe extern "C" fn init(_: *mut c_void) -> c_int {
    let d = default();
    unsafe { d.xInit.map_or(ffi::SQLITE_OK, |f| f(d.pArg)) }
}

unsafe extern "C" fn shutdown(_: *mut c_void) {
    let d = default();
    if let Some(f) = d.xShutdown {
        unsafe { f(d.pArg) }
    }
}

unsafe extern "C" fn create(
    page_size: c_int,
    extra: c_int,
    purgeable: c_int,
) -> *mut ffi::sqlite3_pcache {
    let inner = unsafe { default().xCreate.expect("xCreate")(page_size, extra, purgeable) };
    if inner.is_null() {
        return inner;
    }
    let swap_number = match c_uint::try_from(page_size) {
        Ok(size) if size > 0 => PENDING_BYTE / size + 1,
        // No swap number to recognise: pass every rekey through.
        _ => 0,
    };
    Box::into_raw(Box::new(Cache {
        inner,
        swap_number,
        max_key: 0,
        stand_in: 0,
    })) as *mut ffi::sqlite3_pcache
}

unsafe extern "C" fn cachesize(p: *mut ffi::sqlite3_pcache, n: c_int) {
    unsafe { default().xCachesize.expect("xCachesize")(cache(p).inner, n) }
}

unsafe extern "C" fn pagecount(p: *mut ffi::sqlite3_pcache) -> c_int {
    unsafe { default().xPagecount.expect("xPagecount")(cache(p).inner) }
}

unsafe extern "C" fn fetch(
    p: *mut ffi::sqlite3_pcache,
    key: c_uint,
    create: c_int,
) -> *mut ffi::sqlite3_pcache_page {
    let c = unsafe { cache(p) };
    let key = if c.stand_in != 0 && key == c.swap_number {
        c.stand_in
    } else {
        key
    };
    let page = unsafe { default().xFetch.expect("xFetch")(c.inner, key, create) };
    if !page.is_null() {
        c.max_key = c.max_key.max(key);
    }
    page
}

unsafe extern "C" fn unpin(
    p: *mut ffi::sqlite3_pcache,
    page: *mut ffi::sqlite3_pcache_page,
    discard: c_int,
) {
    unsafe { default().xUnpin.expect("xUnpin")(cache(p).inner, page, discard) }
}

/// The swap is three rekeys: A to the swap number, B to A's old number, A
/// to B's old number. The first and last use the stand-in instead.
unsafe extern "C" fn rekey(
    p: *mut ffi::sqlite3_pcache,
    page: *mut ffi::sqlite3_pcache_page,
    old: c_uint,
    new: c_uint,
) {
    let c = unsafe { cache(p) };
    let rekey = default().xRekey.expect("xRekey");
    let (old, new) = if c.swap_number != 0 && new == c.swap_number && c.stand_in == 0 {
        match c.max_key.max(old).checked_add(1) {
            // Above every page in the cache, so free; below the swap
            // number, or there is nothing to gain.
            Some(stand_in) if stand_in < c.swap_number => {
                c.stand_in = stand_in;
                SWAPS_REDIRECTED.fetch_add(1, Ordering::Relaxed);
                (old, stand_in)
            }
            _ => (old, new),
        }
    } else if c.stand_in != 0 && old == c.swap_number {
        let stand_in = std::mem::replace(&mut c.stand_in, 0);
        (stand_in, new)
    } else {
        (old, new)
    };
    unsafe { rekey(c.inner, page, old, new) };
    c.max_key = c.max_key.max(new);
}

unsafe extern "C" fn truncate(p: *mut ffi::sqlite3_pcache, limit: c_uint) {
    let c = unsafe { cache(p) };
    unsafe { default().xTruncate.expect("xTruncate")(c.inner, limit) };
    // Nothing numbered `limit` or above is left.
    if limit <= c.max_key {
        c.max_key = limit.saturating_sub(1);
    }
}

unsafe extern "C" fn destroy(p: *mut ffi::sqlite3_pcache) {
    // SAFETY: `p` came from `create` (Box::into_raw) and SQLite destroys
    // each cache once.
    let c = unsafe { Box::from_raw(p as *mut Cache) };
    unsafe { default().xDestroy.expect("xDestroy")(c.inner) }
}

unsafe extern "C" fn shrink(p: *mut ffi::sqlite3_pcache) {
    unsafe { default().xShrink.expect("xShrink")(cache(p).inner) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random keys into an index, some transactions rolled back to a
    /// savepoint, many commits: the swaps go through the stand-in number,
    /// and the database is intact and holds exactly what was committed.
    #[test]
    fn random_index_inserts_swap_through_the_stand_in_and_the_database_stays_intact() {
        crate::store::lite_config::configure();
        let dir = tempfile::tempdir().unwrap();
        let c = rusqlite::Connection::open(dir.path().join("p.db")).unwrap();
        c.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
        c.execute_batch(
            "CREATE TABLE calls (id INTEGER PRIMARY KEY, sid TEXT NOT NULL UNIQUE, caller TEXT);
             CREATE INDEX calls_by_caller ON calls (caller);",
        )
        .unwrap();
        let before = SWAPS_REDIRECTED.load(Ordering::Relaxed);
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut kept = 0i64;
        for group in 0..400 {
            c.execute_batch("BEGIN IMMEDIATE").unwrap();
            for member in 0..32 {
                c.execute_batch("SAVEPOINT tx").unwrap();
                c.execute(
                    "INSERT INTO calls (sid, caller) VALUES (?1, ?2)",
                    (
                        format!("CA{:032x}", next()),
                        format!("+1{:010}", next() % 10_000_000_000),
                    ),
                )
                .unwrap();
                if (group + member) % 7 == 0 {
                    c.execute_batch("ROLLBACK TO tx; RELEASE tx").unwrap();
                } else {
                    c.execute_batch("RELEASE tx").unwrap();
                    kept += 1;
                }
            }
            c.execute_batch("COMMIT").unwrap();
        }
        assert!(
            SWAPS_REDIRECTED.load(Ordering::Relaxed) > before,
            "no b-tree swap went through the stand-in"
        );
        let check: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let n: i64 = c
            .query_row("SELECT COUNT(*) FROM calls", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, kept);
        // Another connection (its own cache) reads the same through each index.
        let r = rusqlite::Connection::open(dir.path().join("p.db")).unwrap();
        let (by_sid, by_caller): (i64, i64) = r
            .query_row(
                "SELECT (SELECT COUNT(*) FROM calls INDEXED BY sqlite_autoindex_calls_1
                         WHERE sid > ''),
                        (SELECT COUNT(*) FROM calls INDEXED BY calls_by_caller
                         WHERE caller > '')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((by_sid, by_caller), (kept, kept));
    }
}
