#!/bin/bash
# Staging (on the development machine, from the repo root): `cargo build --release` at the commit under
# test, copied to .dev/cvjourney-new; HEAD before this session's GPU changes (16fa2c7) as
# .dev/cvjourney-base; the native test binary (`cargo test --release --no-run --test native`) as
# .dev/native-tests; Fashion-MNIST in data/ (./lab setup); .gl/ the Vulkan loader debs (the device tool's
# README). Run on the GPU machine from the repo root, carrying .gl, .dev and data/fashion-mnist.
# Device check (session 15, final): the GPU parity suite on the H200; W1 W2 before and after (interleaved,
# three rounds) with the CPU path beside them; W3-100 W3 W5 before and after; the step timelines and the
# full GPU report (GEMM, convolution, step table, kernels) of the new build.
set -u
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
[ -e /work/main ] || { mkdir -p /work && ln -s "$PWD" /work/main; }
export CVJOURNEY_DATA=/tmp/d
mkdir -p /tmp/d && cp -r data/fashion-mnist /tmp/d/
B=.dev/cvjourney-base; N=.dev/cvjourney-new; L=$OUT/log.txt
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee -a $L
uptime | tee -a $L
echo "== parity suite on the GPU (tests/native/webgpu_native.rs)" | tee -a $L
timeout 150 .dev/native-tests webgpu_native --test-threads 4 2>&1 | grep -E "^test |test result|panicked|FAILED" | tee -a $L
run() { echo "== $*" | tee -a $L; timeout 120 "$@" 2>&1 | grep -v XDG | grep -v "…$" | tee -a $L; }
for round in 1 2 3; do
  run $B bench --workloads --gpu --only W1 --only W2
  run $N bench --workloads --gpu --only W1 --only W2
  run $N bench --workloads --only W1 --only W2
done
for b in $B $N; do run $b bench --workloads --gpu --only W3-100 --only W3 --only W5; done
run $N bench --workloads --gpu --timeline --only W1 --only W2 --only W3-100 --only W5
run $N bench --gpu --budget-ms 100
uptime | tee -a $L
