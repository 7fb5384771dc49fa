#!/usr/bin/env bash
# Runs one fuzz target (docs/fuzzing.md lists them and what they check).
#
#   scripts/fuzz.sh TARGET SECONDS   fuzz for SECONDS on fuzz/corpus/TARGET
#                                    (grown in place) plus the seeds
#   scripts/fuzz.sh TARGET cmin      shrink fuzz/corpus/TARGET to the inputs
#                                    that keep its coverage
#   scripts/fuzz.sh TARGET replay    run the committed corpus once (fast)
#   scripts/fuzz.sh list             the targets
#
# Needs `cargo install cargo-fuzz` and the nightly toolchain (libFuzzer's
# instrumentation uses unstable flags). A crash is saved in
# fuzz/artifacts/TARGET/ and printed with the command that reproduces it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = list ] || [ $# -lt 2 ]; then
  [ "${1:-}" = list ] || echo "usage: scripts/fuzz.sh TARGET SECONDS|cmin|replay" >&2
  sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v ringback-fuzz
  [ "${1:-}" = list ]; exit
fi
target=$1 what=$2
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2; exit 2; }

# Bigger inputs only slow each execution: the rules and config parsers
# are fed whole files, the others one message or one request.
case $target in
  rules | config) max_len=8192 ;;
  *) max_len=4096 ;;
esac
corpus=fuzz/corpus/$target
mkdir -p "$corpus"
[ -d fuzz/seeds/"$target" ] || python3 scripts/fuzz_seeds.py >/dev/null
# No AddressSanitizer: the code under test is safe Rust, and without it
# each run is several times faster. Debug assertions stay on.
flags=(--sanitizer none --debug-assertions)

case $what in
  cmin)
    cargo +nightly fuzz cmin "${flags[@]}" "$target" "$corpus" -- -max_len=$max_len ;;
  replay)
    cargo +nightly fuzz run "${flags[@]}" "$target" "$corpus" -- -runs=0 -max_len=$max_len ;;
  *[!0-9]* | "")
    echo "SECONDS must be a whole number, or cmin / replay" >&2; exit 2 ;;
  *)
    cargo +nightly fuzz run "${flags[@]}" "$target" "$corpus" fuzz/seeds/"$target" -- \
      -max_total_time="$what" -max_len=$max_len -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 ;;
esac
