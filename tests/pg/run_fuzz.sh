#!/usr/bin/env bash
# Builds tests/pg/fuzz_conninfo.cpp with clang's libFuzzer (plus ASan and
# UBSan) and runs it briefly. Exit status: 0 when no crash, leak or timeout
# was found.
#
#   tests/pg/run_fuzz.sh [seconds=20] [work dir=build-fuzz-pg]
#
# A crashing input is kept in the work dir (crash-*); replay it with
#   build-fuzz-pg/fuzz_conninfo build-fuzz-pg/crash-...
set -euo pipefail

seconds=${1:-20}
top=$(cd "$(dirname "$0")/../.." && pwd)
work=${2:-$top/build-fuzz-pg}
cxx=${CXX_FUZZ:-$(command -v clang++ || command -v clang++-14)}

mkdir -p "$work/corpus"
"$cxx" -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I "$top/core/include" -I "$top/adapters/pg/include" -I "$top/adapters/pg/src" \
    $(pkg-config --cflags libpq) \
    "$top/tests/pg/fuzz_conninfo.cpp" "$top/adapters/pg/src/conninfo.cpp" \
    "$top/adapters/pg/src/error.cpp" "$top/core/src/error.cpp" \
    $(pkg-config --libs libpq) -o "$work/fuzz_conninfo"

# Seeds: raw strings (mode byte 0), a URI and a key=value string around a password.
printf '\x00\x00host=db port=5432,6432 dbname=\x27my app\x27 password=x\\ y' > "$work/corpus/seed-kv"
printf '\x00\x00postgresql://u:p%%40ss@[::1]:5432,h2/db?sslmode=require&application_name=a%%20b' \
    > "$work/corpus/seed-uri"
printf '\x01\x10SECRET@PASS/WORD:KEYdb.example:5432/app?user=me@corp' > "$work/corpus/seed-uri-secret"
printf '\x02\x10SECRET PASS\x27WORD\\Xhost=h dbname=d sslmod=x' > "$work/corpus/seed-kv-secret"

cd "$work"
exec ./fuzz_conninfo -max_total_time="$seconds" -timeout=5 -rss_limit_mb=1024 -print_final_stats=1 corpus
