#!/bin/bash
# Staging (on the development machine, from the repo root): `cargo build --release` at the commit under test,
# copied to .dev/cvjourney-new; the same at 0d56c5f (the last commit before the GPU launch fusions) as
# .dev/cvjourney-old; the native test binary (`cargo test --release --no-run --test native`) as
# .dev/native-tests; Fashion-MNIST in data/ (./lab setup); .gl/ holds the Vulkan loader debs (the device
# tool's README). Run on the GPU machine from the repo root, carrying .gl, .dev and data/fashion-mnist.
# Device check (session 15): the GPU parity suite on the H200, then W1 W2 on the GPU before and after the
# launch fusions (interleaved, two rounds) with the CPU path beside them, W3-100 W3 W5 on the GPU (both
# binaries), and both binaries' step tables with launches by kernel.
set -u
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
# The test binary finds datasets/ and data/ under the path it was built in (CARGO_MANIFEST_DIR).
[ -e /work/main ] || { mkdir -p /work && ln -s "$PWD" /work/main; }
export CVJOURNEY_DATA=/tmp/d
mkdir -p /tmp/d && cp -r data/fashion-mnist /tmp/d/
O=.dev/cvjourney-old; N=.dev/cvjourney-new; L=$OUT/log.txt
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee -a $L
uptime | tee -a $L
if [ -x .dev/native-tests ]; then
  echo "== parity suite on the GPU (tests/native/webgpu_native.rs)" | tee -a $L
  timeout 150 .dev/native-tests webgpu_native --test-threads 4 2>&1 | grep -E "^test |test result|panicked|FAILED" | tee -a $L
fi
for round in 1 2; do
  for b in $O $N; do
    echo "== $b: GPU W1 W2 (round $round)" | tee -a $L
    timeout 90 $b bench --workloads --gpu --only W1 --only W2 2>&1 | grep -E "^W[0-9]" | tee -a $L
  done
  echo "== $N: CPU W1 W2 (round $round)" | tee -a $L
  timeout 90 $N bench --workloads --only W1 --only W2 2>&1 | grep -E "^W[0-9]" | tee -a $L
done
for b in $O $N; do
  echo "== $b: GPU W3-100 W3 W5" | tee -a $L
  timeout 120 $b bench --workloads --gpu --only W3-100 --only W3 --only W5 2>&1 | grep -E "^W[0-9]" | tee -a $L
done
for b in $O $N; do
  echo "== $b: GPU step table" | tee -a $L
  timeout 120 $b bench --gpu --budget-ms 100 2>&1 | sed -n '/One training step/,/^GPU kernels/p' | tee -a $L
done
uptime | tee -a $L
