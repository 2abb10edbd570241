#!/bin/bash
# Stopping a luks-ssm run at a named point, from outside: the run logs each step as one JSON line on stdout
# (--verbose), a watcher reads them from a FIFO and sends SIGSTOP when the wanted line appears. Nothing in the
# product knows about it. The run writes the line only once the step is done (src/lifecycle/steps.ts), and the
# next step starts a child (cryptsetup) or an AWS call, which takes far longer than the watcher's kill.

# stop_at NAME PATTERN COMMAND...: runs COMMAND in the background with stdout and stderr into the watcher, which
# appends every line to $STOP_AT_DIR/NAME.log and stops COMMAND at the first line containing PATTERN. Sets
# STOP_AT_PID. The COMMAND must keep its pid (luks-ssm's launcher execs node).
stop_at() {
  local name=$1 pattern=$2
  shift 2
  local fifo=$STOP_AT_DIR/$name.fifo log=$STOP_AT_DIR/$name.log
  mkdir -p "$STOP_AT_DIR"
  rm -f "$fifo" "$log"
  mkfifo "$fifo"
  "$@" >"$fifo" 2>&1 &
  STOP_AT_PID=$!
  (
    pid=$STOP_AT_PID
    while IFS= read -r line; do
      case $line in *"$pattern"*) kill -STOP "$pid" 2>/dev/null ;; esac
      printf '%s\n' "$line" >>"$log"
    done <"$fifo"
  ) >/dev/null 2>&1 &
}

# run_state PID: T (stopped), Z or gone (finished), anything else (running).
run_state() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || {
    echo gone
    return
  }
  echo "${state:0:1}"
}

# is_settled PID: stopped or finished (for wait_for).
is_settled() {
  case $(run_state "$1") in T | Z | gone) return 0 ;; *) return 1 ;; esac
}
