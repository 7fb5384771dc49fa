//! Process-wide SQLite settings, applied once before the first connection.
//!
//! SQLite reads these only before it initialises, so [`configure`] runs
//! before the store opens its first connection, and every other opening in
//! this crate (tests included) calls it first: changing them while another
//! thread initialises SQLite would be a race. If something else in the
//! process initialised SQLite first, SQLite answers `SQLITE_MISUSE` and
//! keeps its defaults: the store works the same, only slower.

use std::alloc::{self, Layout};
use std::os::raw::{c_int, c_void};
use std::sync::Once;

use rusqlite::ffi;

/// Applies the settings once per process.
pub(super) fn configure() {
    static CONFIGURE: Once = Once::new();
    CONFIGURE.call_once(|| {
        // SAFETY: these options are documented to be set before SQLite
        // initialises; afterwards SQLite refuses them with SQLITE_MISUSE
        // and changes nothing. MEMSTATUS takes one int; MALLOC and PCACHE2
        // take pointers to methods that SQLite copies before returning.
        unsafe {
            // SQLite counts every allocation under a global mutex unless
            // told not to; we never read those counts.
            ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int);
            let rc = ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &rust_heap());
            if rc != ffi::SQLITE_OK {
                tracing::warn!(
                    rc,
                    "SQLite was initialised before the store configured it; it keeps the C allocator"
                );
            }
            // SQLite's page cache without its full scan at every commit
            // (see lite_pcache).
            let rc = super::lite_pcache::install();
            if rc != ffi::SQLITE_OK {
                tracing::warn!(rc, "SQLite keeps its page cache as it is");
            }
            // Initialise now, inside the Once: SQLite's settings may not
            // change while another thread initialises it.
            ffi::sqlite3_initialize();
        }
    });
}

/// SQLite's memory from the process's Rust allocator (mimalloc in the
/// binary) rather than the C library's `malloc`. Under load SQLite makes
/// many short allocations per transaction (a savepoint's journal is kept
/// in 1 KiB chunks), and glibc's allocator showed up in profiles at 4–5 %
/// of the service's CPU, most of it on the writer's path.
fn rust_heap() -> ffi::sqlite3_mem_methods {
    ffi::sqlite3_mem_methods {
        xMalloc: Some(heap_malloc),
        xFree: Some(heap_free),
        xRealloc: Some(heap_realloc),
        xSize: Some(heap_size),
        xRoundup: Some(heap_roundup),
        xInit: Some(heap_init),
        xShutdown: Some(heap_shutdown),
        pAppData: std::ptr::null_mut(),
    }
}

/// Each block starts with a header holding its usable size, because
/// Rust's allocator needs the layout back to free or resize a block and
/// SQLite asks for a block's size. The header keeps the 8-byte alignment
/// SQLite requires.
const HEADER: usize = 8;
const ALIGN: usize = 8;

fn layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(HEADER)?, ALIGN).ok()
}

/// # Safety
/// Called by SQLite only.
unsafe extern "C" fn heap_malloc(n: c_int) -> *mut c_void {
    let Ok(size) = usize::try_from(n) else {
        return std::ptr::null_mut();
    };
    let size = round_up(size);
    let Some(l) = layout(size) else {
        return std::ptr::null_mut();
    };
    // SAFETY: `l` has a non-zero size (it includes the header).
    let base = unsafe { alloc::alloc(l) };
    if base.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: `base` is valid for `HEADER + size` bytes, aligned to 8.
    unsafe {
        (base as *mut usize).write(size);
        base.add(HEADER) as *mut c_void
    }
}

/// # Safety
/// `p` came from [`heap_malloc`] or [`heap_realloc`] (or is null).
unsafe extern "C" fn heap_free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    // SAFETY: the header sits just before the block SQLite holds.
    unsafe {
        let base = (p as *mut u8).sub(HEADER);
        let size = (base as *const usize).read();
        alloc::dealloc(
            base,
            Layout::from_size_align_unchecked(size + HEADER, ALIGN),
        );
    }
}

/// # Safety
/// `p` came from [`heap_malloc`] or [`heap_realloc`]; SQLite never passes
/// null or a size of zero here.
unsafe extern "C" fn heap_realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    let Ok(size) = usize::try_from(n) else {
        return std::ptr::null_mut();
    };
    let size = round_up(size);
    if layout(size).is_none() {
        return std::ptr::null_mut();
    }
    // SAFETY: as in heap_free; the new size (with header) fits a Layout.
    unsafe {
        let base = (p as *mut u8).sub(HEADER);
        let old = (base as *const usize).read();
        let grown = alloc::realloc(
            base,
            Layout::from_size_align_unchecked(old + HEADER, ALIGN),
            size + HEADER,
        );
        if grown.is_null() {
            return std::ptr::null_mut();
        }
        (grown as *mut usize).write(size);
        grown.add(HEADER) as *mut c_void
    }
}

/// # Safety
/// `p` came from [`heap_malloc`] or [`heap_realloc`] (or is null).
unsafe extern "C" fn heap_size(p: *mut c_void) -> c_int {
    if p.is_null() {
        return 0;
    }
    // SAFETY: as in heap_free.
    let size = unsafe { ((p as *const u8).sub(HEADER) as *const usize).read() };
    c_int::try_from(size).unwrap_or(c_int::MAX)
}

unsafe extern "C" fn heap_roundup(n: c_int) -> c_int {
    match usize::try_from(n) {
        Ok(size) => c_int::try_from(round_up(size)).unwrap_or(n),
        Err(_) => n,
    }
}

unsafe extern "C" fn heap_init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn heap_shutdown(_: *mut c_void) {}

fn round_up(n: usize) -> usize {
    n.saturating_add(ALIGN - 1) & !(ALIGN - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_keep_their_size_and_contents_through_realloc() {
        unsafe {
            let p = heap_malloc(13);
            assert!(!p.is_null());
            assert_eq!(p as usize % ALIGN, 0, "SQLite needs 8-byte alignment");
            assert_eq!(heap_size(p), 16, "sizes are rounded up to 8");
            std::ptr::copy_nonoverlapping(b"missed call!!".as_ptr(), p as *mut u8, 13);
            let q = heap_realloc(p, 5000);
            assert!(!q.is_null());
            assert_eq!(heap_size(q), 5000);
            assert_eq!(
                std::slice::from_raw_parts(q as *const u8, 13),
                b"missed call!!"
            );
            heap_free(q);
            heap_free(std::ptr::null_mut());
            assert_eq!(heap_size(std::ptr::null_mut()), 0);
            assert!(heap_malloc(-1).is_null());
            assert_eq!(heap_roundup(1), 8);
        }
    }
}
