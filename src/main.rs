//! The `ringback` binary: parse the command line and hand over to the library.

/// mimalloc instead of the system allocator: under load the service makes
/// many small, short-lived allocations from several threads (requests,
/// rows, futures), and glibc's malloc spent a fifth of the CPU on them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    ringback::cli::main()
}
