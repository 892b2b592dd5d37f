#!/bin/bash
# Staging (on the development machine, from the repo root): cargo build --release; mkdir -p .dev;
# cp target/release/cvjourney .dev/; Fashion-MNIST in data/ (./lab setup); .gl/ holds the Vulkan loader debs
# (see the device tool's README). Then run this script on the GPU machine from the repo root, carrying
# .gl, .dev and data/fashion-mnist. Output goes to $OUT.
# Device check (session 8): W1, W2, W5 on the GPU and the CPU after the data batch's gradient is skipped.
set -u
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export CVJOURNEY_DATA=/tmp/d
mkdir -p /tmp/d && cp -r data/fashion-mnist /tmp/d/
B=.dev/cvjourney; L=$OUT/log.txt
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee -a $L
echo "== workloads GPU: W1 W2 W5" | tee -a $L
timeout 120 $B bench --workloads --gpu --only W1 --only W2 --only W5 2>&1 | tail -4 | tee -a $L
echo "== workloads CPU: W1 W2 W5" | tee -a $L
timeout 100 $B bench --workloads --only W1 --only W2 --only W5 2>&1 | tail -4 | tee -a $L
echo "== GPU step table" | tee -a $L
timeout 90 $B bench --gpu --budget-ms 100 2>&1 | sed -n '/One training step/,/^$/p' | tee -a $L
