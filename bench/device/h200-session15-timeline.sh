#!/bin/bash
# Staging: `cargo build --release`, copied to .dev/cvjourney-new; Fashion-MNIST in data/ (./lab setup); .gl/
# holds the Vulkan loader debs (the device tool's README). Run on the GPU machine from the repo root,
# carrying .gl, .dev and data/fashion-mnist. Output goes to $OUT.
# Device check (session 15): one training step of W1, W2, W3-100 and W5 launch by launch (GPU timestamps),
# twice, to see where each step's GPU time goes.
set -u
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export CVJOURNEY_DATA=/tmp/d
mkdir -p /tmp/d && cp -r data/fashion-mnist /tmp/d/
N=.dev/cvjourney-new; L=$OUT/log.txt
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee -a $L
for round in 1 2; do
  echo "== $N: step timelines (round $round)" | tee -a $L
  timeout 120 $N bench --workloads --gpu --timeline --only W1 --only W2 --only W3-100 --only W5 2>&1 | grep -v XDG | tee -a $L
done
