# Tiny assertion helpers for the packaging checks: one line per check, a count, and the closing line.

PASSED=0
FAILED=0

# check NAME COMMAND...: runs COMMAND quietly; prints ok/not ok with NAME and the output on failure.
check() {
  local name=$1 output
  shift
  if output=$("$@" 2>&1); then
    PASSED=$((PASSED + 1))
    printf 'ok      %s\n' "$name"
  else
    FAILED=$((FAILED + 1))
    printf 'not ok  %s\n' "$name"
    [[ -z $output ]] || printf '%s\n' "$output" | sed 's/^/        /' | head -40
  fi
}

# contains TEXT PATTERN: TEXT has a line matching the extended regex PATTERN.
contains() {
  grep -qE -- "$2" <<<"$1" || { printf 'expected a line matching: %s\nin:\n%s\n' "$2" "$1"; return 1; }
}

# lacks TEXT PATTERN: no line of TEXT matches PATTERN.
lacks() {
  if grep -E -- "$2" <<<"$1"; then
    printf 'unexpected line(s) above, matching: %s\n' "$2"
    return 1
  fi
}

# same_lines EXPECTED ACTUAL: both texts hold the same lines (sorted); shows the diff otherwise.
same_lines() {
  diff -u <(sort <<<"$1") <(sort <<<"$2")
}

summary() {
  echo "$PASSED passed, $FAILED failed"
  ((FAILED == 0))
}
