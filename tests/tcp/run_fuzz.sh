#!/usr/bin/env bash
# Builds tests/tcp/fuzz_frame.cpp with clang's libFuzzer (plus ASan and UBSan)
# and runs it briefly. Exit status: 0 when no crash, leak or timeout was found.
#
#   tests/tcp/run_fuzz.sh [seconds=20] [work dir=build-fuzz-tcp]
#
# A crashing input is kept in the work dir (crash-*); replay it with
#   build-fuzz-tcp/fuzz_frame build-fuzz-tcp/crash-...
set -euo pipefail

seconds=${1:-20}
top=$(cd "$(dirname "$0")/../.." && pwd)
work=${2:-$top/build-fuzz-tcp}
cxx=${CXX_FUZZ:-$(command -v clang++ || command -v clang++-14)}

mkdir -p "$work/corpus"
"$cxx" -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I "$top/adapters/tcp/include" -I "$top/core/include" \
    "$top/tests/tcp/fuzz_frame.cpp" "$top/adapters/tcp/src/frame_reader.cpp" \
    -o "$work/fuzz_frame"

# Seeds: a line, a frame, CRLF, an over-long length prefix.
printf '\x35\x0cone line\r\n\x48\x00\x00\x00\x03abc' > "$work/corpus/seed-mixed"
printf '\xff\x44\xff\xff\xff\xff' > "$work/corpus/seed-huge-length"

cd "$work"
exec ./fuzz_frame -max_total_time="$seconds" -timeout=5 -rss_limit_mb=1024 -print_final_stats=1 corpus
