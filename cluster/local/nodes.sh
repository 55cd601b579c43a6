#!/usr/bin/env bash
# N cluster nodes on this one machine, as Linux namespaces (run as root; needs iproute2,
# util-linux unshare/nsenter). Each node nodeI has
#   - its own network namespace with one interface, hesp0 = $NET.I/24, a veth pair plugged
#     into a bridge in the machine's namespace (the bridge holds $NET.254: the "head");
#   - its own UTS namespace (hostname nodeI) and mount namespace, where /tmp and /dev/shm
#     are the node's own (node-local scratch) and /etc/hosts names every node;
#   - the rest of the file system shared, as NFS would be on a cluster.
# (nsenter --net rather than `ip netns exec`: the latter remounts /sys, hiding the
# cgroup file system slurmd needs.) A holder process (sleep) keeps the namespaces alive; `exec` and the OpenMPI rsh agent
# (agent.sh) enter them with nsenter.
#
#   cluster/local/nodes.sh up DIR [N]        make N nodes (default 2), state in DIR (not
#                                            under /tmp: the nodes cannot see the machine's)
#   cluster/local/nodes.sh exec DIR NODE CMD...   run CMD on NODE (environment kept)
#   cluster/local/nodes.sh kill DIR NODE     kill -9 every process of NODE but its holder
#                                            (node loss)
#   cluster/local/nodes.sh down DIR          kill every process of every node, remove the
#                                            namespaces, links, bridge and DIR (KEEP=1: keep DIR)
#   cluster/local/nodes.sh check             exit 0 when this machine allows all of it
#
# `source DIR/env.sh` sets OMPI_MCA_plm_rsh_agent (so `mpirun --host node1,node2` starts
# its daemons inside the nodes) and pins OpenMPI's TCP traffic to the bridge subnet.
# HESP_NODES_SHARE="PATH[:PATH...]": folders under /tmp that every node still sees at the
# same path (shared storage, e.g. a source and build tree cloned under /tmp); the rest of
# each node's /tmp stays its own.
# Names: HESP_NODES_TAG (default hesp77: namespaces hesp77-node1.., bridge hesp77br) and
# HESP_NODES_NET (default 10.77.0) keep two clusters on one machine apart.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cmd="${1:-}"
shift || true

tag_of() { cat "$1/tag"; }
holder_pid() {  # DIR NODE -> the pid whose namespaces are the node's
  local f="$1/nodes/$2/holder.pid"
  [[ -f "$f" ]] || { echo "nodes.sh: no node $2 in $1" >&2; exit 2; }
  cat "$f"
}
node_pids() {  # DIR NODE -> every pid in the node's network namespace (holder included)
  ip netns pids "$(tag_of "$1")-$2" 2> /dev/null || true
}

case "$cmd" in
check)
  probe="hesp-probe-$$"
  ip netns add "$probe" 2> /dev/null || { echo "ip netns add is not allowed here"; exit 1; }
  ok=1
  ip netns exec "$probe" unshare --uts --mount true 2> /dev/null || { echo "unshare --uts --mount is not allowed here"; ok=0; }
  ip link add "hp$$a" type veth peer name "hp$$b" 2> /dev/null && ip link del "hp$$a" ||
    { echo "veth pairs are not allowed here"; ok=0; }
  ip netns del "$probe"
  [[ $ok == 1 ]]
  ;;

up)
  dir="$1"; n="${2:-2}"
  tag="${HESP_NODES_TAG:-hesp77}"; net="${HESP_NODES_NET:-10.77.0}"
  br="${tag}br"
  case "$(cd "$(dirname "$dir")" 2> /dev/null && pwd)/" in
    /tmp/*) echo "nodes.sh: DIR must not be under /tmp (each node has its own /tmp)" >&2; exit 2 ;;
  esac
  ip link show "$br" > /dev/null 2>&1 && { echo "nodes.sh: bridge $br exists (another cluster is up: nodes.sh down it, or set HESP_NODES_TAG)" >&2; exit 1; }
  mkdir -p "$dir/nodes"
  dir="$(cd "$dir" && pwd)"
  shares=()
  IFS=: read -r -a wanted <<< "${HESP_NODES_SHARE:-}"
  for p in "${wanted[@]}"; do
    [[ -n "$p" ]] || continue
    p="$(realpath "$p")"
    [[ -d "$p" && "$p/" == /tmp/?*/ ]] || { echo "nodes.sh: HESP_NODES_SHARE: $p is not a folder under /tmp" >&2; exit 2; }
    shares+=("$p")
  done
  echo "$tag" > "$dir/tag"; echo "$n" > "$dir/size"; echo "$net" > "$dir/net"
  # On failure half-way, remove what exists.
  trap 'echo "nodes.sh: up failed; tearing down" >&2; "$0" down "$dir" > /dev/null 2>&1' ERR
  {
    echo "127.0.0.1 localhost"
    echo "$net.254 $(hostname -s) head"
    for i in $(seq 1 "$n"); do echo "$net.$i node$i"; done
  } > "$dir/hosts"
  ip link add "$br" type bridge
  ip addr add "$net.254/24" dev "$br"
  ip link set "$br" up
  for i in $(seq 1 "$n"); do
    node="node$i"; ns="$tag-$node"; nd="$dir/nodes/$node"
    mkdir -p "$nd/tmp" "$nd/log"; chmod 1777 "$nd/tmp"
    # Shared folders under /tmp: bound into the node's /tmp before it replaces the machine's.
    binds=""
    for p in "${shares[@]}"; do
      mkdir -p "$nd/tmp/${p#/tmp/}"
      binds+="mount --bind '$p' '$nd/tmp/${p#/tmp/}' && "
    done
    ip netns add "$ns"
    ip link add "$tag-n$i" type veth peer name hesp0 netns "$ns"
    ip link set "$tag-n$i" master "$br" up
    ip -n "$ns" addr add "$net.$i/24" dev hesp0
    ip -n "$ns" link set hesp0 up
    ip -n "$ns" link set lo up
    # The holder: new UTS and mount namespaces inside the network one, private mounts.
    setsid nsenter --net="/run/netns/$ns" unshare --uts --mount --propagation private -- /bin/sh -c "
      hostname $node &&
      $binds
      mount --rbind '$nd/tmp' /tmp &&
      mount -t tmpfs -o size=2g,mode=1777 tmpfs /dev/shm &&
      mount --bind '$dir/hosts' /etc/hosts &&
      echo \$\$ > '$nd/holder.pid.new' && mv '$nd/holder.pid.new' '$nd/holder.pid' &&
      exec sleep infinity" < /dev/null > "$nd/log/holder.log" 2>&1 &
    disown
    for _ in $(seq 1 100); do [[ -f "$nd/holder.pid" ]] && break; sleep 0.05; done
    [[ -f "$nd/holder.pid" ]] || { echo "nodes.sh: $node did not start: $(cat "$nd/log/holder.log")" >&2; false; }
  done
  # The OpenMPI launcher agent with DIR built in, and the environment for mpirun.
  cat > "$dir/rsh-agent" << AGENT
#!/bin/sh
exec "$here/agent.sh" "$dir" "\$@"
AGENT
  chmod +x "$dir/rsh-agent"
  cat > "$dir/env.sh" << ENV
export HESP_NODES_DIR="$dir"
export OMPI_MCA_plm_rsh_agent="$dir/rsh-agent"
export OMPI_MCA_btl_tcp_if_include="$net.0/24"
export OMPI_MCA_oob_tcp_if_include="$net.0/24"
ENV
  trap - ERR
  echo "$dir"
  ;;

exec)
  dir="$1"; node="$2"; shift 2
  exec nsenter -t "$(holder_pid "$dir" "$node")" --net --uts --mount --wd="$PWD" -- "$@"
  ;;

kill)
  dir="$1"; node="$2"
  holder=$(holder_pid "$dir" "$node")
  for pid in $(node_pids "$dir" "$node"); do
    [[ "$pid" == "$holder" ]] || kill -9 "$pid" 2> /dev/null || true
  done
  ;;

down)
  dir="$1"
  [[ -f "$dir/tag" ]] || { echo "nodes.sh: $dir is not a nodes folder" >&2; exit 2; }
  tag=$(tag_of "$dir")
  for nd in "$dir"/nodes/*/; do
    node=$(basename "$nd"); ns="$tag-$node"
    # Everything running in the node, its holder last (its pid keeps the namespaces).
    for pid in $(node_pids "$dir" "$node"); do kill -9 "$pid" 2> /dev/null || true; done
    for _ in $(seq 1 50); do [[ -z "$(node_pids "$dir" "$node")" ]] && break; sleep 0.1; done
    ip netns del "$ns" 2> /dev/null || true
    ip link del "$tag-${node/node/n}" 2> /dev/null || true
  done
  ip link del "${tag}br" 2> /dev/null || true
  [[ "${KEEP:-0}" == 1 ]] || rm -rf "$dir"
  ;;

*)
  sed -n '2,25p' "$0" >&2
  exit 2
  ;;
esac
