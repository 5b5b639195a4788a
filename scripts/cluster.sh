#!/usr/bin/env bash
# A local Chronik cluster on 127.0.0.1: N nodes (default 3), every one a voter,
# node n on Kafka port 19090+n and rpc port 19300+n, data in ./data/node-n, its
# log in ./data/node-n.log, its pid in ./data/node-n.pid.
#
#   scripts/cluster.sh start [N]      start the nodes not running; prints the bootstrap list
#   scripts/cluster.sh stop [N]       SIGTERM every node, wait for it to exit
#   scripts/cluster.sh status [N]     which nodes run, and the cluster as node 1 sees it
#   scripts/cluster.sh kill NODE      kill -9 one node (a crash)
#   scripts/cluster.sh restart NODE   start one node again (after kill or stop)
#
# Environment: CLUSTER_SERVER (default build/bin/chronik-server), DATA_DIR
# (default ./data), SMP (shards per node, default 1), and any CHRONIK_* setting.
set -euo pipefail

cd "$(dirname "$0")/.."
SERVER=${CLUSTER_SERVER:-build/bin/chronik-server}
DATA=${DATA_DIR:-./data}
SMP=${SMP:-1}
KAFKA_BASE=19090
RPC_BASE=19300

usage() {
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

count() {
    local n=${1:-3}
    [[ $n =~ ^[1-9][0-9]?$ ]] || { echo "cluster.sh: N must be 1..99, not '$n'" >&2; exit 2; }
    echo "$n"
}

# addresses N BASE [ids]: 127.0.0.1:BASE+i for i in 1..N, comma-separated, each
# prefixed with "i@" when asked (the voters list).
addresses() {
    local n=$1 base=$2 ids=${3:-} out="" i
    for ((i = 1; i <= n; i++)); do
        out+="${out:+,}${ids:+$i@}127.0.0.1:$((base + i))"
    done
    echo "$out"
}
voters() { addresses "$1" "$RPC_BASE" ids; }
bootstrap() { addresses "$1" "$KAFKA_BASE"; }

# The pid of node i if it runs (and is ours: a chronik-server), else nothing.
pid_of() {
    local f="$DATA/node-$1.pid" pid
    [[ -f $f ]] || return 0
    pid=$(cat "$f")
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && grep -q chronik-server "/proc/$pid/cmdline" 2>/dev/null; then
        echo "$pid"
    fi
}

# The number of nodes this cluster was started with (the voters it recorded).
recorded() {
    if [[ -f $DATA/cluster.size ]]; then cat "$DATA/cluster.size"; else echo 3; fi
}

start_node() {
    local i=$1 n=$2
    if [[ -n $(pid_of "$i") ]]; then
        echo "node $i already runs (pid $(pid_of "$i"))"
        return
    fi
    [[ -x $SERVER ]] || { echo "cluster.sh: $SERVER not built (run make build)" >&2; exit 1; }
    mkdir -p "$DATA/node-$i"
    "$SERVER" start --node-id "$i" --listen "127.0.0.1:$((KAFKA_BASE + i))" \
        --rpc-listen "127.0.0.1:$((RPC_BASE + i))" --voters "$(voters "$n")" \
        --data-dir "$DATA/node-$i" --smp "$SMP" >>"$DATA/node-$i.log" 2>&1 &
    echo $! >"$DATA/node-$i.pid"
    # Listening within 10 s, or it failed to start (its log says why).
    local k
    for ((k = 0; k < 100; k++)); do
        if grep -q "chronik-server listening on 127.0.0.1:$((KAFKA_BASE + i))" "$DATA/node-$i.log" 2>/dev/null &&
            [[ -n $(pid_of "$i") ]]; then
            echo "node $i started (pid $!, Kafka 127.0.0.1:$((KAFKA_BASE + i)), data $DATA/node-$i)"
            return
        fi
        [[ -n $(pid_of "$i") ]] || break
        sleep 0.1
    done
    echo "cluster.sh: node $i did not start; the end of $DATA/node-$i.log:" >&2
    tail -n 20 "$DATA/node-$i.log" >&2
    exit 1
}

stop_node() {
    local i=$1 sig=${2:-TERM} pid k
    pid=$(pid_of "$i")
    if [[ -z $pid ]]; then
        echo "node $i is not running"
        return
    fi
    kill "-$sig" "$pid"
    for ((k = 0; k < 200; k++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "cluster.sh: node $i (pid $pid) did not stop within 20 s" >&2
        exit 1
    fi
    rm -f "$DATA/node-$i.pid"
    echo "node $i stopped ($sig)"
}

node_arg() {
    local i=${1:-}
    [[ $i =~ ^[1-9][0-9]?$ ]] && ((i <= $(recorded))) || {
        echo "cluster.sh: give a node number, 1..$(recorded)" >&2
        exit 2
    }
    echo "$i"
}

cmd=${1:-}
case $cmd in
    start)
        n=$(count "${2:-3}")
        mkdir -p "$DATA"
        if [[ -f $DATA/cluster.size && $(cat "$DATA/cluster.size") != "$n" ]]; then
            echo "cluster.sh: $DATA holds a $(cat "$DATA/cluster.size")-node cluster; stop it and remove $DATA first" >&2
            exit 1
        fi
        echo "$n" >"$DATA/cluster.size"
        for ((i = 1; i <= n; i++)); do start_node "$i" "$n"; done
        echo "bootstrap: $(bootstrap "$n")"
        ;;
    stop)
        n=$(count "${2:-$(recorded)}")
        for ((i = 1; i <= n; i++)); do stop_node "$i"; done
        ;;
    status)
        n=$(count "${2:-$(recorded)}")
        for ((i = 1; i <= n; i++)); do
            if [[ -n $(pid_of "$i") ]]; then
                echo "node $i: running (pid $(pid_of "$i"), Kafka 127.0.0.1:$((KAFKA_BASE + i)))"
            else
                echo "node $i: stopped"
            fi
        done
        echo "bootstrap: $(bootstrap "$n")"
        if command -v kcat >/dev/null; then
            kcat -b "$(bootstrap "$n")" -L -m 5 2>/dev/null | head -n 8 || true
        fi
        ;;
    kill)
        stop_node "$(node_arg "${2:-}")" KILL
        ;;
    restart)
        i=$(node_arg "${2:-}")
        start_node "$i" "$(recorded)"
        ;;
    *)
        usage
        ;;
esac
