#!/bin/bash
# Staging: this session's work-in-progress build as .dev/cvjourney-new (with the experiment's environment
# knobs CVJOURNEY_SMALL_BELOW: the 32x32-tile GEMM for products of fewer 64x64 tiles than this, and
# CVJOURNEY_SPLIT_CHUNK: the least k per split-K slice), HEAD before this session's changes as
# .dev/cvjourney-base; Fashion-MNIST in data/; .gl/ the Vulkan loader debs. Carry .gl, .dev, data/fashion-mnist.
# (The knobs were removed after this run: setting D is now the code, ops::SMALL_BELOW and MIN_SPLIT_K.)
# Device check (session 15): step timelines and W1/W2 for the base build and four settings of the new one
# (interleaved, two rounds), the CPU path beside them; W3-100, W3, W5 for the base and two settings.
set -u
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export CVJOURNEY_DATA=/tmp/d
mkdir -p /tmp/d && cp -r data/fashion-mnist /tmp/d/
B=.dev/cvjourney-base; N=.dev/cvjourney-new; L=$OUT/log.txt
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee -a $L
# Warm the GPU's clocks first (round 1 of the last call ran slow at first).
timeout 60 $B bench --workloads --gpu --only W2 >/dev/null 2>&1
run() { # label, binary, small_below, split_chunk, args...
  local label=$1 bin=$2 sb=$3 sc=$4; shift 4
  echo "== $label (small<$sb, chunk $sc): $*" | tee -a $L
  CVJOURNEY_SMALL_BELOW=$sb CVJOURNEY_SPLIT_CHUNK=$sc timeout 120 $bin "$@" 2>&1 | grep -v XDG | grep -v "…$" | tee -a $L
}
run base $B 0 256 bench --workloads --gpu --timeline --only W2
for cfg in "A 0 256" "B 16 256" "C 16 64" "D 64 128"; do
  set -- $cfg
  run $1 $N $2 $3 bench --workloads --gpu --timeline --only W2 --only W1
done
for round in 1 2; do
  run base $B 0 256 bench --workloads --gpu --only W1 --only W2
  for cfg in "A 0 256" "B 16 256" "C 16 64" "D 64 128"; do
    set -- $cfg
    run $1 $N $2 $3 bench --workloads --gpu --only W1 --only W2
  done
  run cpu $N 0 256 bench --workloads --only W1 --only W2
done
run base $B 0 256 bench --workloads --gpu --only W3-100 --only W3 --only W5
run A $N 0 256 bench --workloads --gpu --only W3-100 --only W3 --only W5
run C $N 16 64 bench --workloads --gpu --only W3-100 --only W3 --only W5
run C $N 16 64 bench --workloads --gpu --timeline --only W3-100
