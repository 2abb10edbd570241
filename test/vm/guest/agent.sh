#!/bin/bash
# Guest half of the VM harness (run by vm-agent.service from the 9p share): runs the host's boot script, then
# each step script the host drops in, and writes stdout, stderr, exit status and the journal back to the share.
# Layout (host side in test/vm/lib/share.ts): boot-N.sh, steps/boot-N/K.sh -> results/boot-N/[step-K/]{stdout,stderr,status,DONE}
set -u
share=/mnt/host
boot=$(sed -n 's/.*luksvm\.boot=\([0-9]\+\).*/\1/p' /proc/cmdline)
out=$share/results/boot-${boot:-unknown}

# run SCRIPT DIR: runs one script with the time limit in SCRIPT's .sec file (a backstop: the host waits less).
run() {
  local script=$1 dir=$2 limit=300
  mkdir -p "$dir"
  [ -f "${script%.sh}.sec" ] && limit=$(cat "${script%.sh}.sec")
  if [ -f "$script" ]; then
    (cd /root && timeout -k 5 "$limit" bash "$script" >"$dir/stdout" 2>"$dir/stderr" </dev/null)
    echo $? >"$dir/status"
  else
    echo "no such script: $script" >"$dir/stderr"
    echo 127 >"$dir/status"
  fi
}

journal() {
  journalctl -b --no-pager -o short-monotonic >"$1" 2>&1
}

case ${1:-run} in
  run)
    mkdir -p "$out"
    echo "boot $boot agent started at $(cut -d' ' -f1 /proc/uptime) s uptime" >"$out/AGENT"
    run "$share/boot-$boot.sh" "$out"
    journal "$out/journal.txt"
    touch "$out/DONE"
    k=1
    while :; do
      step=$share/steps/boot-$boot/$k.sh
      if [ -f "$step" ]; then
        run "$step" "$out/step-$k"
        touch "$out/step-$k/DONE"
        k=$((k + 1))
      else
        sleep 0.2
      fi
    done
    ;;
  final)
    journal "$out/journal-final.txt"
    ;;
esac
