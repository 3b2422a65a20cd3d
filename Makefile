# The README's two commands:
#   make run    install what is missing, build, start a single-node cluster
#   make test   install what is missing, build, run every test
.PHONY: run test build deps fuzz bench soak cluster chaos image-test clean

JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 20

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

run: build
	@mkdir -p minga-data
	@echo "minga: starting a single-node cluster; data in ./minga-data"
	@echo "minga: client port 127.0.0.1:7400, monitor http://127.0.0.1:7480/ (Ctrl-C stops it)"
	@exec ./build/release/minga node --data-dir ./minga-data

# A local 3-node cluster (docs/cluster.md); Ctrl-C stops it.
cluster: build
	@exec ./build/release/minga cluster up --nodes 3 --data-dir ./minga-cluster

test: build fuzz
	@ctest --preset release -j 2

# The libFuzzer targets (clang), each run for a bounded time, then the
# harness itself on deliberately broken targets.
fuzz: deps
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/run-fuzzers.sh build/fuzz
	@scripts/check-fuzz-harness.sh build/fuzz

# Side-by-side figures (docs/benchmarks.md): tasks vs Redis, lottery,
# coordinator overhead, the consensus core and its log, replicated records vs etcd,
# the ML training core vs PyTorch, predictions through the nodes.
bench: build
	@scripts/install-deps.sh --bench
	@scripts/bench-tasks.sh
	@./build/release/minga bench lottery
	@scripts/bench-coordinator.sh 5 50 1
	@scripts/bench-raft.sh
	@scripts/bench-records.sh 3 3
	@scripts/bench-files.sh 3
	@scripts/bench-ml.sh
	@scripts/bench-predict.sh

# The Raft simulator for as long as asked: RUNS seeds from SEED, STEPS each;
# 3 and 5 nodes alternate unless NODES is set.
soak: build
	@./build/release/minga-sim --seed $${SEED:-1} --runs $${RUNS:-100000} --steps $${STEPS:-5000} $${NODES:+--nodes $$NODES}

# Linearizability of a real 3-node cluster under kills, pauses and
# partitions for DURATION seconds (SEED replays the choices; CLIENTS).
# It prints the seed; a failed run writes its history and prints the path.
DURATION ?= 60
chaos: build
	@env MINGA_CHAOS_SECONDS=$(DURATION) $${SEED:+MINGA_CHAOS_SEED=$$SEED} $${CLIENTS:+MINGA_CHAOS_CLIENTS=$$CLIENTS} \
	  ./build/release/tests/integration/cluster/chaos_tests --gtest_filter='ClusterChaos.*'

# deploy/Dockerfile built with Debian's podman from a base image made by
# debootstrap (nothing pulled), then a node run from it (docs/deploy.md).
# Only the binary is built on the host: the test's client.
image-test:
	@scripts/install-deps.sh --image
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target minga
	@MINGA_IMAGE_TEST=1 ctest --preset release -R '^Deploy\.ImageBuiltWithPodman' --output-on-failure

clean:
	rm -rf build
