#!/usr/bin/env bash
# Two "hosts" on one machine: two network namespaces joined by a veth pair, and `mpirun` launching one rank in
# each over TCP (no shared-memory transport), the way it would across two machines. Root only (ip netns).
# Checks that the two-host run's losses and weights equal a one-process, two-thread run's, and prints the
# bytes that crossed the link.
#   usage: sudo Benchmarks/mpi_two_hosts.sh [path/to/minigpt built with --traits MPI]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:-.build-mpi/release/minigpt}")
[ "$(id -u)" -eq 0 ] || { echo "Error: needs root (ip netns)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "Error: $BIN not found: build it with swift build -c release --traits MPI --scratch-path .build-mpi" >&2; exit 1; }

WORK=$(mktemp -d /tmp/minigpt-two-hosts.XXXXXX)
cleanup() { ip netns del mg-host-a 2>/dev/null || true; ip netns del mg-host-b 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
cleanup; WORK=$(mktemp -d /tmp/minigpt-two-hosts.XXXXXX)

ip netns add mg-host-a
ip netns add mg-host-b
ip link add mg-veth-a type veth peer name mg-veth-b
ip link set mg-veth-a netns mg-host-a
ip link set mg-veth-b netns mg-host-b
ip -n mg-host-a addr add 10.77.0.1/24 dev mg-veth-a
ip -n mg-host-b addr add 10.77.0.2/24 dev mg-veth-b
for ns in mg-host-a mg-host-b; do ip -n $ns link set lo up; done
ip -n mg-host-a link set mg-veth-a up
ip -n mg-host-b link set mg-veth-b up

# Open MPI starts its daemon on a remote host through ssh; here "ssh HOST COMMAND" becomes
# "enter HOST's namespace and run COMMAND".
cat > "$WORK/netns-rsh" <<'AGENT'
#!/bin/sh
case "$1" in
  10.77.0.1) ns=mg-host-a ;;
  10.77.0.2) ns=mg-host-b ;;
  *) echo "unknown host $1" >&2; exit 1 ;;
esac
shift
exec ip netns exec "$ns" sh -c "$*"
AGENT
chmod +x "$WORK/netns-rsh"
printf '10.77.0.1 slots=1\n10.77.0.2 slots=1\n' > "$WORK/hostfile"

TRAIN=(train --corpus Corpora/song100.txt --layers 2 --heads 2 --width 64 --context 64 --batch 8 --steps 30
       --eval-every 10 --eval-batches 2)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rx_before=$(ip netns exec mg-host-b cat /sys/class/net/mg-veth-b/statistics/rx_bytes)
echo "== two hosts: 1 rank each, TCP over the veth link"
ip netns exec mg-host-a mpirun --hostfile "$WORK/hostfile" -np 2 \
    --mca plm_rsh_agent "$WORK/netns-rsh" --mca pml ob1 --mca btl tcp,self \
    --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24 \
    -x PATH -x LD_LIBRARY_PATH --wdir "$PWD" \
    "$BIN" "${TRAIN[@]}" --threads 1 --out "$WORK/two-hosts"
rx_after=$(ip netns exec mg-host-b cat /sys/class/net/mg-veth-b/statistics/rx_bytes)
echo "== one process, 2 threads"
"$BIN" "${TRAIN[@]}" --threads 2 --out "$WORK/one-process" 2>&1 | tail -1

python3 - "$WORK" "$rx_before" "$rx_after" <<'PY'
import json, sys, filecmp
work, before, after = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def curve(run):
    return [(r["step"], r["train_loss"], r.get("val_loss"), r["grad_norm"]) for r in map(json.loads, open(f"{work}/{run}/metrics.jsonl"))]
a, b = curve("two-hosts"), curve("one-process")
weights = "checkpoints/step-00000030/model.safetensors"
same = filecmp.cmp(f"{work}/two-hosts/{weights}", f"{work}/one-process/{weights}", shallow=False)
if a != b: print("first difference:", next((x, y) for x, y in zip(a, b) if x != y) if len(a) == len(b) else (len(a), len(b)))
print(f"host b received {(after - before) / 1e6:.1f} MB over the veth link")
print(f"loss curves identical: {a == b} ({len(a)} steps, last train loss {a[-1][1]:.4f}); final weights identical: {same}")
sys.exit(0 if a == b and same else 1)
PY
