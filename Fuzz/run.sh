#!/usr/bin/env bash
# Builds the fuzz targets (libFuzzer + AddressSanitizer) and runs each for FUZZ_SECONDS seconds.
#
#   Fuzz/run.sh                      every target, 300 s each
#   FUZZ_SECONDS=20 Fuzz/run.sh      a quick pass
#   Fuzz/run.sh FuzzDataDecoder ...  only these targets
#   FUZZ_KEEP_GOING=1 Fuzz/run.sh    go on after a failure (libFuzzer -fork=1 -ignore_crashes=1) and
#                                    count the failing inputs, to look past a known bug
#   FUZZ_SEED=1 Fuzz/run.sh          libFuzzer's -seed (CI sets it: the same mutations every run)
#   Fuzz/run.sh --crashes            replay every Fuzz/Crashes/<target>-<name> (each a known bug's input)
#                                    and say which still fail
#
# Each target starts from a copy of Fuzz/Corpus/<target> (the committed seeds are never written to);
# what it finds and its log stay in FUZZ_WORK (default: a new directory under /tmp). Prints one line
# per target and exits 1 if any target found a failure, naming the input that shows it.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
export PATH=/opt/swift/usr/bin:$PATH

seconds=${FUZZ_SECONDS:-300}
rss_mb=${FUZZ_RSS_MB:-2048}          # libFuzzer's per-process memory limit
timeout_s=${FUZZ_TIMEOUT:-10}        # one input taking longer than this is a failure (a hang)
work=${FUZZ_WORK:-$(mktemp -d /tmp/sluice-fuzz.XXXXXX)}
mkdir -p "$work"

replay=0
if [ "${1:-}" = "--crashes" ]; then replay=1; shift; fi

all_targets=(FuzzCommandParser FuzzReplyParser FuzzLineFramer FuzzDataDecoder FuzzMessageHeader
             FuzzAuthUser FuzzEHLOCapabilities FuzzConfiguration FuzzPattern FuzzProxyHeader FuzzRecordData
             FuzzDKIMSignature FuzzMIMEParser FuzzHTMLText FuzzDetectors)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")

# Longest input per target, and its dictionary (if any).
max_len() {
  case "$1" in
    FuzzCommandParser|FuzzAuthUser|FuzzPattern) echo 1024 ;;
    FuzzLineFramer|FuzzEHLOCapabilities) echo 4096 ;;
    FuzzProxyHeader) echo 1200 ;;
    FuzzRecordData) echo 600 ;;
    FuzzDKIMSignature|FuzzDetectors) echo 2048 ;;
    FuzzHTMLText) echo 4096 ;;
    *) echo 8192 ;;
  esac
}
dictionary() {
  case "$1" in
    FuzzCommandParser|FuzzLineFramer|FuzzDataDecoder) echo Dictionaries/smtp.dict ;;
    FuzzReplyParser|FuzzEHLOCapabilities) echo Dictionaries/replies.dict ;;
    FuzzMessageHeader) echo Dictionaries/header.dict ;;
    FuzzConfiguration) echo Dictionaries/config.dict ;;
    FuzzPattern) echo Dictionaries/pcre.dict ;;
    FuzzProxyHeader) echo Dictionaries/proxy.dict ;;
    FuzzDKIMSignature) echo Dictionaries/dkim.dict ;;
    FuzzMIMEParser) echo Dictionaries/mime.dict ;;
    FuzzHTMLText) echo Dictionaries/html.dict ;;
    FuzzDetectors) echo Dictionaries/detectors.dict ;;
  esac
}

# The machine has few cores: never two Swift builds at once (the lock is shared with the main build).
build=(swift build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
echo "building fuzz targets: ${build[*]}"
if ! flock /tmp/swift-build.lock nice -n 10 "${build[@]}" >"$work/build.log" 2>&1; then
  grep -v "Cannot export local symbol" "$work/build.log" | tail -40
  echo "fuzz: build failed (log: $work/build.log)"
  exit 2
fi
bin=$(flock /tmp/swift-build.lock "${build[@]}" --show-bin-path)

# Swift's own crash backtracer does not get on with ASan; libFuzzer reports the crash itself.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}

if [ $replay -eq 1 ]; then
  still=0
  for input in Crashes/*; do
    [ -f "$input" ] || continue
    target=$(basename "$input"); target=${target%%-*}
    if "$bin/$target" "$input" >"$work/replay.log" 2>&1; then
      echo "crash $(basename "$input"): fixed (passes $target)"
    else
      still=1
      echo "crash $(basename "$input"): still fails:"
      grep -A1 -m1 "PROPERTY VIOLATED\|ERROR: AddressSanitizer" "$work/replay.log" | tail -1 | cut -c1-300 | sed 's/^/    /'
    fi
  done
  exit $still
fi

keep_going=()
[ -n "${FUZZ_KEEP_GOING:-}" ] && keep_going=(-fork=1 -ignore_crashes=1)

failed=0
for target in "${targets[@]}"; do
  if [ ! -x "$bin/$target" ]; then echo "fuzz $target: no such target"; failed=1; continue; fi
  dir="$work/$target"
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  [ -d "Corpus/$target" ] && cp -R "Corpus/$target/." "$dir/corpus/"
  dict=$(dictionary "$target")
  args=(-max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout="$timeout_s" -max_len="$(max_len "$target")"
        -artifact_prefix="$dir/artifacts/" -print_final_stats=1 "${keep_going[@]}")
  [ -n "$dict" ] && args+=(-dict="$here/$dict")
  [ -n "${FUZZ_SEED:-}" ] && args+=(-seed="$FUZZ_SEED")   # CI: the same mutations on every run
  "$bin/$target" "${args[@]}" "$dir/corpus" >"$dir/log" 2>&1
  status=$?
  runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$dir/log" | tail -1)
  [ -z "$runs" ] && runs=$(grep -o '^#[0-9]*' "$dir/log" | tail -1 | tr -d '#')   # fork mode
  crash=$(ls "$dir/artifacts"/* 2>/dev/null | head -1)
  if [ -n "$crash" ] && [ ${#keep_going[@]} -gt 0 ]; then
    echo "fuzz $target: ${runs:-0} runs, $(ls "$dir/artifacts" | wc -l) failing inputs in $dir/artifacts (first: $crash)"
    failed=1
    continue
  fi
  if [ $status -eq 0 ] && [ -z "$crash" ]; then
    echo "fuzz $target: ${runs:-0} runs, no failure"
  else
    failed=1
    echo "fuzz $target: FAILED (exit $status) with input ${crash:-<none written>}"
    grep -A4 -m1 -E "PROPERTY VIOLATED|Fatal error|ERROR: (AddressSanitizer|libFuzzer)" "$dir/log" | cut -c1-400 | sed 's/^/    /'
    echo "    log: $dir/log"
    echo "    replay: SWIFT_BACKTRACE=enable=no $bin/$target ${crash:-INPUT}"
  fi
done
exit $failed
