# Sourced by the side-by-side benchmark scripts (bench-records.sh,
# bench-files.sh): installs etcd and builds bench/etcd-put if missing, then
# starts a 3-node minga cluster and a 3-member etcd 3.4 cluster on free ports
# of 127.0.0.1, with their data in one temporary directory, and waits until
# both commit a write. The caller sets `bench` (its name, for messages);
# afterwards `minga`, `etcdput`, `work`, `base`, `minga_servers`,
# `etcd_endpoints` and `pids` are set, and everything stops on exit.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
minga="$root/build/release/minga"
etcdput="$root/build/release/etcd-put"
[[ -x "$minga" ]] || { echo "${bench}: build minga first (make build)" >&2; exit 2; }

missing=()
for p in etcd-server golang-go golang-etcd-server-dev curl; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  echo "${bench}: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The etcd client, built offline from Debian's Go sources.
if [[ ! -x "$etcdput" || "$root/bench/etcd-put/main.go" -nt "$etcdput" ]]; then
  echo "${bench}: building bench/etcd-put (offline, GOPATH=/usr/share/gocode)"
  (cd "$root/bench/etcd-put" && GOPATH=/usr/share/gocode GO111MODULE=off GOPROXY=off GOFLAGS= \
    GOCACHE="$root/build/go-cache" timeout 600 go build -o "$etcdput" .)
fi

work=$(mktemp -d -p "${BENCH_DIR:-${TMPDIR:-/tmp}}" minga-${bench}.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A base port P such that P+1..3 (client), P+81..83 (monitor), P+101..103
# (Raft) and P+201..206 (etcd client and peer) are all free on 127.0.0.1;
# BENCH_BASE_PORT=P chooses it (for a machine whose users share port ranges).
if [[ -n "${BENCH_BASE_PORT:-}" ]]; then
  base=$BENCH_BASE_PORT
else
  base=$(python3 - <<'EOF'
import random, socket
for _ in range(200):
    p = random.randrange(20000, 32000, 10)  # below the ephemeral range (32768-)
    ports = [p + o for o in (1, 2, 3, 81, 82, 83, 101, 102, 103, 201, 202, 203, 204, 205, 206)]
    socks = []
    try:
        for q in ports:
            s = socket.socket(); s.bind(("127.0.0.1", q)); socks.append(s)
        print(p); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
EOF
)
fi

"$minga" cluster up --nodes 3 --data-dir "$work/minga" --base-port "$base" \
  --node-arg=--log-level --node-arg=warn >"$work/minga.log" 2>&1 &
pids+=($!)
minga_servers="127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2)),127.0.0.1:$((base + 3))"

cluster=""
for i in 1 2 3; do cluster+="${cluster:+,}e$i=http://127.0.0.1:$((base + 203 + i))"; done
etcd_endpoints=""
for i in 1 2 3; do
  etcd --name "e$i" --data-dir "$work/etcd/e$i" \
    --listen-client-urls "http://127.0.0.1:$((base + 200 + i))" \
    --advertise-client-urls "http://127.0.0.1:$((base + 200 + i))" \
    --listen-peer-urls "http://127.0.0.1:$((base + 203 + i))" \
    --initial-advertise-peer-urls "http://127.0.0.1:$((base + 203 + i))" \
    --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token minga-bench \
    --logger zap --log-level warn >"$work/etcd$i.log" 2>&1 &
  pids+=($!)
  etcd_endpoints+="${etcd_endpoints:+,}127.0.0.1:$((base + 200 + i))"
done

# Every minga node answers, both clusters have a leader and commit a write
# (bounded: 20 s).
ready=""
for _ in $(seq 100); do
  if [[ -z "$ready" ]] && "$minga" --server "$minga_servers" --timeout 2 records add ready >/dev/null 2>&1 &&
    "$minga" --server "127.0.0.1:$((base + 1))" --timeout 1 status >/dev/null 2>&1 &&
    "$minga" --server "127.0.0.1:$((base + 2))" --timeout 1 status >/dev/null 2>&1 &&
    "$minga" --server "127.0.0.1:$((base + 3))" --timeout 1 status >/dev/null 2>&1; then
    ready="minga"
  fi
  if [[ "$ready" == minga ]] &&
    curl -sf -m 2 -X POST -d '{"key":"cmVhZHk=","value":"eQ=="}' "http://127.0.0.1:$((base + 201))/v3/kv/put" \
      >/dev/null 2>&1; then
    ready="both"
    break
  fi
  sleep 0.2
done
if [[ "$ready" != both ]]; then
  echo "${bench}: the clusters did not come up (ready: ${ready:-none})" >&2
  tail -5 "$work"/*.log >&2
  exit 1
fi
