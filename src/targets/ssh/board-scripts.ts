/**
 * The POSIX sh scripts the ssh target runs on a board (dash, bash and busybox ash all qualify). They
 * take their inputs as positional arguments only; the harness passes them with `sh -c SCRIPT NAME ARGS…`
 * or uploads them to `<run>/bin/`.
 */

/**
 * Facts about the board, one `key=value` per line (parsed by `parsePreflight`). Changes nothing.
 */
export const preflightScript = `
echo "arch=$(uname -m)"
echo "kernel=$(uname -r)"
echo "user=$(id -u)"
echo "client=\${SSH_CLIENT%% *}"
echo "ssh_port=\${SSH_CONNECTION##* }"
t=$(date +%s%N); case $t in *N) t=$(( $(date +%s) * 1000000000 ));; esac; echo "clock_ns=$t"
for tool in nft tc setsid stress-ng systemd-run sha256sum runc; do
  if command -v "$tool" >/dev/null 2>&1; then echo "has_$tool=1"; else echo "has_$tool=0"; fi
done
if [ -d /run/systemd/system ]; then echo "systemd=1"; else echo "systemd=0"; fi
echo "cgroupfs=$(stat -fc %T /sys/fs/cgroup 2>/dev/null)"
for c in cpu cpuacct memory freezer; do [ -d "/sys/fs/cgroup/$c" ] && echo "cgroup_v1_$c=1"; done
[ -f /sys/fs/cgroup/cgroup.controllers ] && echo "cgroup_v2_controllers=$(cat /sys/fs/cgroup/cgroup.controllers)"
netem=0
grep -q '^sch_netem ' /proc/modules 2>/dev/null && netem=1
ls /lib/modules/"$(uname -r)"/kernel/net/sched/sch_netem.* >/dev/null 2>&1 && netem=1
if [ -r /proc/config.gz ] && command -v zcat >/dev/null 2>&1; then
  zcat /proc/config.gz | grep -Eq '^CONFIG_NET_SCH_NETEM=(y|m)' && netem=1
fi
echo "netem=$netem"
timens=0
[ -e /proc/self/ns/time ] && unshare --help 2>/dev/null | grep -q -- '--monotonic' && timens=1
echo "timens=$timens"
if [ -c /dev/fuse ]; then echo "fuse=1"; else echo "fuse=0"; fi
if grep -qw tmpfs /proc/filesystems 2>/dev/null; then echo "tmpfs=1"; else echo "tmpfs=0"; fi
echo "mem_available_kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)"
echo "disk_free_kb=$(df -Pk "$1" 2>/dev/null | awk 'NR==2 {print $4}')"
`;

/**
 * ec-supervise PIDFILE EXITSFILE LOGFILE CGROUPS ARGV…
 * Runs ARGV in the node's cgroups (the supervisor itself stays outside them, so killing the node's
 * processes does not lose the exit), writes the board time it started the child to PIDFILE.start and
 * the child's pid to PIDFILE, and on exit appends "<status> <board clock ns>" to EXITSFILE. No
 * restart (the harness decides what happens next) unless PIDFILE.restart exists (toxiproxy, whose
 * restart is the board-side undo of every toxic: see target.ts).
 */
export const superviseScript = `#!/bin/sh
pidf=$1; exits=$2; log=$3; cgs=$4; shift 4
echo $$ > "$pidf.sup"
trap '' HUP
while :; do
  t=$(date +%s%N); case $t in *N) t=$(( $(date +%s) * 1000000000 ));; esac
  echo "$t" > "$pidf.start"
  sh -c 'for d in $1; do echo $$ > "$d/cgroup.procs" || exit 97; done; shift; exec "$@"' ec-node "$cgs" "$@" >>"$log" 2>&1 </dev/null &
  child=$!
  echo "$child" > "$pidf.tmp" && mv -f "$pidf.tmp" "$pidf"
  wait "$child"; code=$?
  t=$(date +%s%N); case $t in *N) t=$(( $(date +%s) * 1000000000 ));; esac
  [ -d "\${exits%/*}" ] && echo "$code $t" >> "$exits"
  [ -f "$pidf.restart" ] || break
  sleep 1
done
rm -f "$pidf" "$pidf.sup" "$pidf.start"
`;

/**
 * ec-safety LEASE HEARTBEAT TTL ARGV…: the board-side safety net of one applied fault.
 * While LEASE exists, check every second that HEARTBEAT (touched by the harness every TTL/3) is younger
 * than TTL seconds; if not, the harness is gone: run ARGV (the fault's undo), note it in LEASE.reverted,
 * remove LEASE and exit. The harness reverting the fault itself removes LEASE first, which disarms it.
 */
export const safetyScript = `#!/bin/sh
lease=$1; hb=$2; ttl=$3; shift 3
while [ -e "$lease" ]; do
  now=$(date +%s); last=$(stat -c %Y "$hb" 2>/dev/null || echo 0)
  if [ $((now - last)) -gt "$ttl" ]; then
    "$@" > "$lease.out" 2>&1; code=$?
    echo "reverted at $now (heartbeat $last, ttl $ttl s): exit $code: $*" > "$lease.reverted"
    rm -f "$lease"
    exit 0
  fi
  sleep 1
done
`;

/**
 * Arm one fault's safety net: ARM BIN LEASE HEARTBEAT TTL DETACH… -- UNDO…
 * DETACH is how a process outlives the ssh session: \`setsid\` or \`systemd-run --collect …\`.
 */
export const armScript = `
bin=$1; lease=$2; hb=$3; ttl=$4; shift 4
det=""
while [ "$1" != "--" ]; do det="$det $1"; shift; done; shift
touch "$hb" && : > "$lease" || exit 1
$det sh "$bin/ec-safety" "$lease" "$hb" "$ttl" "$@" </dev/null >/dev/null 2>&1 &
echo $! > "$lease.pid"
`;

/** Disarm one fault's safety net: DISARM LEASE — remove the lease and stop its timer (its process group). */
export const disarmScript = `
rm -f "$1"
p=$(cat "$1.pid" 2>/dev/null) && { kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null; }
rm -f "$1.pid"
exit 0
`;

/**
 * Start a stack/helper process under ec-supervise, detached from the session:
 * START BIN PIDFILE EXITSFILE LOGFILE CGROUPS DETACH… -- ARGV…
 * Prints "running" if PIDFILE names a live process already.
 */
export const startScript = `
bin=$1; pidf=$2; exits=$3; log=$4; cgs=$5; shift 5
det=""
while [ "$1" != "--" ]; do det="$det $1"; shift; done; shift
if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then echo running; exit 0; fi
rm -f "$pidf"
$det sh "$bin/ec-supervise" "$pidf" "$exits" "$log" "$cgs" "$@" </dev/null >/dev/null 2>&1 &
i=0
while [ ! -f "$pidf" ]; do i=$((i+1)); [ $i -gt 500 ] && { echo "no pid file after 5 s" >&2; exit 1; }; sleep 0.01 2>/dev/null || sleep 1; done
cat "$pidf"
`;

/**
 * Everything of one run on a board goes: TEARDOWN BASE CGROUPDIR…
 * Disarm safety nets, kill supervisors and processes (pid files, then every member of the node's
 * cgroups and of their children, e.g. a container's `ctr`), thaw and remove the cgroups (children first),
 * remove BASE. Idempotent; a missing BASE is success.
 */
export const teardownScript = `
base=$1; shift
case "$base" in /?*/?*) ;; *) echo "refusing to remove $base" >&2; exit 2;; esac
rm -f "$base"/leases/*.lease 2>/dev/null
for f in "$base"/leases/*.lease.pid; do [ -f "$f" ] && { p=$(cat "$f"); kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null; }; done
for f in "$base"/run/*.pid.sup; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
for f in "$base"/run/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
for d in "$@"; do
  [ -d "$d" ] || continue
  [ -f "$d/freezer.state" ] && echo THAWED > "$d/freezer.state"
  [ -f "$d/cgroup.freeze" ] && echo 0 > "$d/cgroup.freeze"
done
for d in "$@"; do
  i=0
  while [ -d "$d" ] && [ $i -lt 100 ]; do
    for c in "$d"/*/ "$d"; do
      [ -d "$c" ] || continue
      for p in $(cat "$c/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
      [ "$c" = "$d" ] || rmdir "$c" 2>/dev/null
    done
    rmdir "$d" 2>/dev/null || sleep 0.05 2>/dev/null || sleep 1
    i=$((i+1))
  done
  [ -d "$d" ] && { echo "cgroup $d could not be removed" >&2; exit 1; }
done
awk -v b="$base/" 'index($5, b) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
rm -rf "$base"
exit 0
`;

/** Print the files of a node's cgroups, prefixed "== FILE" (parsed by `parseCgroupDump`). */
export const statsScript = `
for f in "$@"; do echo "== $f"; cat "$f" 2>/dev/null; done
`;

/** Freeze or thaw the node's cgroup (v1 freezer.state or v2 cgroup.freeze): FREEZE DIR FROZEN|THAWED */
export const freezeScript = `
d=$1; want=$2
if [ -f "$d/freezer.state" ]; then
  echo "$want" > "$d/freezer.state" || exit 1
  i=0; while [ "$(cat "$d/freezer.state")" != "$want" ] && [ $i -lt 500 ]; do sleep 0.01 2>/dev/null || sleep 1; i=$((i+1)); done
elif [ -f "$d/cgroup.freeze" ]; then
  [ "$want" = FROZEN ] && v=1 || v=0
  echo $v > "$d/cgroup.freeze" || exit 1
else
  [ "$want" = THAWED ] && exit 0
  echo "no freezer for $d" >&2; exit 1
fi
`;

/** SIGKILL every member of the node's cgroups, frozen first so nothing forks meanwhile: KILLALL FREEZER DIR… */
export const killAllScript = `
fz=$1; shift
[ -f "$fz/freezer.state" ] && echo FROZEN > "$fz/freezer.state"
[ -f "$fz/cgroup.freeze" ] && echo 1 > "$fz/cgroup.freeze"
n=0; killed=" "
for round in 1 2 3; do
  for d in "$@"; do for p in $(cat "$d/cgroup.procs" 2>/dev/null); do
    case "$killed" in *" $p "*) ;; *) kill -9 "$p" 2>/dev/null && { n=$((n+1)); killed="$killed$p "; };; esac
  done; done
done
[ -f "$fz/freezer.state" ] && echo THAWED > "$fz/freezer.state"
[ -f "$fz/cgroup.freeze" ] && echo 0 > "$fz/cgroup.freeze"
echo $n
`;

/**
 * Kill every member of the node's cgroups that runs in a time namespace with an offset (clock-skew's
 * undo, and the board-side safety net's): TIMENSKILL DIR… Members in the board's own time namespace
 * (offsets 0) are left alone; "none skewed" is success. Prints how many it killed.
 */
export const timensKillScript = `
n=0
for round in 1 2 3; do
  for d in "$@"; do for p in $(cat "$d/cgroup.procs" 2>/dev/null); do
    awk '$2 != 0 { s = 1 } END { exit !s }' "/proc/$p/timens_offsets" 2>/dev/null && kill -9 "$p" 2>/dev/null && n=$((n+1))
  done; done
  sleep 0.02 2>/dev/null || sleep 1
done
echo $n
`;

/**
 * The node's stack process as clock-skew's revert sees it: STACKCLOCK PIDFILE prints `none` (no pid
 * file: stopped, its supervisor done), `gone` (the pid file names a dead or zombie process: its
 * supervisor has not noticed yet), `skewed` (alive, in a time namespace with an offset) or `plain`.
 */
export const stackClockScript = `
p=$(cat "$1" 2>/dev/null) || { echo none; exit 0; }
st=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -c1)
case "$st" in ''|Z|X) echo gone; exit 0;; esac
awk '$2 != 0 { s = 1 } END { exit !s }' "/proc/$p/timens_offsets" 2>/dev/null && echo skewed || echo plain
`;

/**
 * The fast signal channel: one long-lived shell on the board reads "PIDFILE SIGNAL" lines and answers
 * 1 (signalled) or 0 (not running), so a kill fault lands ~1 ms after it is asked for instead of after
 * a new ssh session. Ends when the harness closes its stdin (or goes away).
 */
export const signalLoopScript = `
while IFS=' ' read -r f s; do
  p=$(cat "$f" 2>/dev/null) && kill -s "$s" "$p" 2>/dev/null && echo 1 || echo 0
done
`;
