#!/bin/bash
# Staging (on the development machine, from the repo root): cargo build --release; mkdir -p .dev;
# .dev/cvjourney is session 8's binary (before the bind-group cache), .dev/cvjourney-new this session's
# (cp target/release/cvjourney .dev/cvjourney-new); Fashion-MNIST in data/ (./lab setup); .gl/ holds the
# Vulkan loader debs (see the device tool's README). Run on the GPU machine from the repo root, carrying
# .gl, .dev and data/fashion-mnist. Output goes to $OUT.
# Device check (session 9): W1 and W2 on the GPU before and after the bind-group cache (interleaved, two
# rounds), the CPU path beside them, W5 on the GPU, and the step table of both binaries.
set -u
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export CVJOURNEY_DATA=/tmp/d
mkdir -p /tmp/d && cp -r data/fashion-mnist /tmp/d/
O=.dev/cvjourney; N=.dev/cvjourney-new; L=$OUT/log.txt
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee -a $L
for round in 1 2; do
  for b in $O $N; do
    echo "== $b: GPU W1 W2 (round $round)" | tee -a $L
    timeout 90 $b bench --workloads --gpu --only W1 --only W2 2>&1 | grep -E "^W[0-9]" | tee -a $L
  done
  echo "== $N: CPU W1 W2 (round $round)" | tee -a $L
  timeout 90 $N bench --workloads --only W1 --only W2 2>&1 | grep -E "^W[0-9]" | tee -a $L
done
echo "== $N: GPU W5" | tee -a $L
timeout 90 $N bench --workloads --gpu --only W5 2>&1 | grep -E "^W[0-9]" | tee -a $L
for b in $O $N; do
  echo "== $b: GPU step table" | tee -a $L
  timeout 120 $b bench --gpu --budget-ms 100 2>&1 | sed -n '/One training step/,/^$/p' | tee -a $L
done
