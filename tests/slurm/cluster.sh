#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the Slurm tests and for trying the
# profile by hand.
#
#   tests/slurm/cluster.sh start  [STATE_DIR]   install (apt, root only) and start; idempotent
#   tests/slurm/cluster.sh stop   [STATE_DIR]   stop the daemons this STATE_DIR started
#   tests/slurm/cluster.sh status [STATE_DIR]   print state; exit 0 when up, 1 when not
#
# STATE_DIR (default $RF_SLURM_STATE_DIR or /tmp/rf-slurm) holds pid, log, spool and state
# files and a copy of the config. The config itself goes to /etc/slurm/{slurm,gres}.conf: the
# executor plugin strips SLURM_CONF from the job environment, so only the default path works.
# `stop` leaves a slurm.conf with MessageTimeout=1 there, so Slurm clients (and the plugin's
# probe at every snakemake start) fail at once instead of retrying for 9 s.
#
# Exit codes: 0 ok, 1 not running (status), 2 usage, 3 not root or packages unreachable,
# 4 daemons failed to start or another cluster owns the ports.
set -euo pipefail

usage() {
    echo "usage: $0 start|stop|status [STATE_DIR]" >&2
    exit 2
}

[[ $# -ge 1 && $# -le 2 ]] || usage
ACTION=$1
STATE_DIR=$(realpath -m "${2:-${RF_SLURM_STATE_DIR:-/tmp/rf-slurm}}")

HOST=$(hostname -s)
CONF_DIR=/etc/slurm
# Our clients must read our conf, whatever the caller's environment says.
export SLURM_CONF=$CONF_DIR/slurm.conf
MARKER="# Written by tests/slurm/cluster.sh"
CTLD_PID=$STATE_DIR/slurmctld.pid
SLURMD_PID=$STATE_DIR/slurmd.pid
MUNGE_PID=$STATE_DIR/munged.pid
WAIT_S=${RF_SLURM_WAIT_S:-30}

log() { echo "cluster.sh: $*" >&2; }
die() {
    local code=$1
    shift
    log "$*"
    exit "$code"
}

# A pid file counts only while its process is alive and is the program we started:
# a stale pid may have been reused by anything.
pid_alive() {
    local pidfile=$1 name=$2 pid
    [[ -s $pidfile ]] || return 1
    pid=$(<"$pidfile")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/comm ]] || return 1
    [[ $(</proc/"$pid"/comm) == "$name" ]]
}

# The state without power/reservation suffixes; "*" (not responding) is kept: not usable.
node_state() {
    timeout 10 sinfo -h -n "$HOST" -o %t 2>/dev/null | head -n1 | tr -d '~#!%$@^-' || true
}

require_root() {
    [[ $(id -u) -eq 0 ]] || die 3 "must run as root to $1 (uid is $(id -u))"
}

install_packages() {
    local missing=()
    command -v slurmctld >/dev/null || missing+=(slurmctld)
    command -v slurmd >/dev/null || missing+=(slurmd)
    command -v sinfo >/dev/null || missing+=(slurm-client)
    command -v munged >/dev/null || missing+=(munge)
    [[ ${#missing[@]} -eq 0 ]] && return 0
    log "installing slurm-wlm and munge (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    # Wait for another apt (e.g. `make system-deps`) instead of failing on its lock.
    local apt=(apt-get -o DPkg::Lock::Timeout=120 -q)
    if ! timeout 300 "${apt[@]}" update >"$STATE_DIR/apt.log" 2>&1; then
        die 3 "apt-get update failed (packages unreachable?); see $STATE_DIR/apt.log"
    fi
    if ! timeout 600 "${apt[@]}" install -y slurm-wlm munge >>"$STATE_DIR/apt.log" 2>&1; then
        die 3 "apt-get install slurm-wlm munge failed (unreachable?); see $STATE_DIR/apt.log"
    fi
    command -v slurmctld >/dev/null && command -v munged >/dev/null ||
        die 3 "slurm-wlm/munge installed but slurmctld or munged not on PATH"
}

start_munge() {
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        return 0 # a munged (ours or the system's) already answers
    fi
    if [[ ! -s /etc/munge/munge.key ]]; then
        mkdir -p /etc/munge
        mungekey -c -f -k /etc/munge/munge.key
        chown munge:munge /etc/munge/munge.key 2>/dev/null || true
        chmod 0400 /etc/munge/munge.key
    fi
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    # As root munged complains about directory ownership; --force accepts it.
    munged --force --pid-file="$MUNGE_PID" --log-file="$STATE_DIR/munged.log" \
        >>"$STATE_DIR/munged.out" 2>&1 || die 4 "munged failed; see $STATE_DIR/munged.log"
    local i
    for i in $(seq 1 20); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
        sleep 0.25
    done
    die 4 "munged started but munge/unmunge fails; see $STATE_DIR/munged.log"
}

real_memory_mb() {
    # Available (not total) memory, so jobs never oversubscribe what other users leave free;
    # slurmd only insists that RealMemory is not above the physical total.
    local avail
    avail=$(free -m | awk '/^Mem:/ {print $7}')
    echo $((avail * 80 / 100))
}

write_conf() {
    local tmp
    mkdir -p "$CONF_DIR" "$STATE_DIR/ctld" "$STATE_DIR/spool"
    tmp=$(mktemp "$CONF_DIR/.slurm.conf.XXXXXX")
    cat >"$tmp" <<EOF
$MARKER for a one-node test cluster; state in $STATE_DIR
ClusterName=rftest
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
# An impossible request fails at sbatch instead of pending forever.
EnforcePartLimits=ALL
# The plugin's squeue status needs finished jobs visible for >= 3x its first poll interval.
MinJobAge=300
KillWait=5
GresTypes=gpu
StateSaveLocation=$STATE_DIR/ctld
SlurmdSpoolDir=$STATE_DIR/spool
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$STATE_DIR/slurmctld.log
SlurmdLogFile=$STATE_DIR/slurmd.log
NodeName=$HOST CPUs=$(nproc) RealMemory=$(real_memory_mb) Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    chmod 0644 "$tmp"
    mv -f "$tmp" "$CONF_DIR/slurm.conf"
    # Two named files: a Count=-only line is rejected by slurmd as "count reported lower".
    tmp=$(mktemp "$CONF_DIR/.gres.conf.XXXXXX")
    printf 'Name=gpu File=/dev/null\nName=gpu File=/dev/zero\n' >"$tmp"
    chmod 0644 "$tmp"
    mv -f "$tmp" "$CONF_DIR/gres.conf"
    cp "$CONF_DIR/slurm.conf" "$CONF_DIR/gres.conf" "$STATE_DIR/"
}

wait_idle() {
    local i state resumed=0
    for i in $(seq 1 $((WAIT_S * 2))); do
        state=$(node_state)
        case $state in
        idle | mix | alloc | comp) return 0 ;;
        down | drain | drng | drained | fail | inval)
            if [[ $resumed -eq 0 ]]; then
                scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
                resumed=1
            fi
            ;;
        esac
        sleep 0.5
    done
    log "node $HOST not idle after ${WAIT_S}s (state '${state:-none}')"
    tail -n 20 "$STATE_DIR/slurmctld.log" "$STATE_DIR/slurmd.log" >&2 2>/dev/null || true
    return 1
}

start() {
    require_root "start the cluster"
    mkdir -p "$STATE_DIR"
    if pid_alive "$CTLD_PID" slurmctld && pid_alive "$SLURMD_PID" slurmd; then
        wait_idle || die 4 "daemons of $STATE_DIR run but the node is not usable"
        log "already running (state dir $STATE_DIR)"
        return 0
    fi
    install_packages
    # Another cluster would own the ports and answer sinfo in our place.
    local other
    for other in slurmctld slurmd; do
        local pf=$CTLD_PID
        [[ $other == slurmd ]] && pf=$SLURMD_PID
        if ! pid_alive "$pf" "$other" && pgrep -x "$other" >/dev/null; then
            die 4 "a $other not started from $STATE_DIR is running (pid $(pgrep -x "$other" |
                tr '\n' ' ')); stop that cluster first"
        fi
    done
    start_munge
    if ! pid_alive "$CTLD_PID" slurmctld; then
        write_conf
        slurmctld -f "$CONF_DIR/slurm.conf" >>"$STATE_DIR/slurmctld.out" 2>&1 ||
            die 4 "slurmctld failed; see $STATE_DIR/slurmctld.log"
    fi
    local i
    for i in $(seq 1 $((WAIT_S * 2))); do
        timeout 5 scontrol ping 2>/dev/null | grep -q UP && break
        sleep 0.5
    done
    pid_alive "$CTLD_PID" slurmctld || die 4 "slurmctld exited; see $STATE_DIR/slurmctld.log"
    if ! pid_alive "$SLURMD_PID" slurmd; then
        slurmd -f "$CONF_DIR/slurm.conf" >>"$STATE_DIR/slurmd.out" 2>&1 ||
            die 4 "slurmd failed; see $STATE_DIR/slurmd.log"
    fi
    wait_idle || die 4 "cluster did not become idle"
    log "started: node $HOST $(node_state), state dir $STATE_DIR"
}

stop_one() {
    local pidfile=$1 name=$2 pid i
    pid_alive "$pidfile" "$name" || {
        rm -f "$pidfile"
        return 0
    }
    pid=$(<"$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 40); do
        [[ -d /proc/$pid ]] || break
        sleep 0.25
    done
    if [[ -d /proc/$pid ]]; then
        log "$name (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

# With no controller every Slurm client retries for MessageTimeout-1 seconds (9 s by
# default), and the executor plugin runs `scontrol show config` whenever snakemake starts,
# even for local runs. MessageTimeout=1 makes that probe fail at once.
write_stopped_conf() {
    [[ -f $CONF_DIR/slurm.conf ]] || return 0
    head -n1 "$CONF_DIR/slurm.conf" | grep -qF "$MARKER" || return 0
    local tmp
    tmp=$(mktemp "$CONF_DIR/.slurm.conf.XXXXXX")
    {
        echo "$MARKER (stopped; 'cluster.sh start' rewrites it)"
        echo "# No controller runs: MessageTimeout=1 makes clients fail at once, not after 9 s."
        echo "ClusterName=rftest"
        echo "SlurmctldHost=$HOST"
        echo "MessageTimeout=1"
    } >"$tmp"
    chmod 0644 "$tmp"
    mv -f "$tmp" "$CONF_DIR/slurm.conf"
}

stop() {
    require_root "stop the cluster"
    # slurmd first so it does not spin trying to reach a vanished controller.
    stop_one "$SLURMD_PID" slurmd
    stop_one "$CTLD_PID" slurmctld
    stop_one "$MUNGE_PID" munged
    pgrep -x slurmctld >/dev/null || write_stopped_conf
    log "stopped daemons of $STATE_DIR"
}

status() {
    local up=1 name pf
    for name in slurmctld slurmd munged; do
        pf=$STATE_DIR/$name.pid
        if pid_alive "$pf" "$name"; then
            echo "$name: running (pid $(<"$pf"))"
        else
            echo "$name: not running from $STATE_DIR"
            [[ $name == munged ]] || up=0
        fi
    done
    if [[ $up -eq 1 ]]; then
        echo "node $HOST: $(node_state)"
        [[ $(node_state) =~ ^(idle|mix|alloc|comp)$ ]] && return 0
    fi
    return 1
}

case $ACTION in
start) start ;;
stop) stop ;;
status) status ;;
*) usage ;;
esac
