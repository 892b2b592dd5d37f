#!/bin/bash
# Staging as in h200-session15-final.sh, with .dev/cvjourney-new and .dev/native-tests built at the commit
# under test (d3ad0b7: the review's kernel refactor, and y left on the host where the loss does not read it).
# Device check (session 15, confirmation): the parity suite on the H200; W1 W2 before and after (three
# interleaved rounds) with the CPU path; W3 W5 after; the W2 and W3-100 step timelines.
set -u
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
[ -e /work/main ] || { mkdir -p /work && ln -s "$PWD" /work/main; }
export CVJOURNEY_DATA=/tmp/d
mkdir -p /tmp/d && cp -r data/fashion-mnist /tmp/d/
B=.dev/cvjourney-base; N=.dev/cvjourney-new; L=$OUT/log.txt
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee -a $L
echo "== parity suite on the GPU (tests/native/webgpu_native.rs)" | tee -a $L
timeout 150 .dev/native-tests webgpu_native --test-threads 4 2>&1 | grep -E "test result|panicked|FAILED" | tee -a $L
run() { echo "== $*" | tee -a $L; timeout 120 "$@" 2>&1 | grep -v XDG | grep -v "…$" | tee -a $L; }
for round in 1 2 3; do
  run $B bench --workloads --gpu --only W1 --only W2
  run $N bench --workloads --gpu --only W1 --only W2
  run $N bench --workloads --only W1 --only W2
done
run $N bench --workloads --gpu --only W3 --only W5
run $N bench --workloads --gpu --timeline --only W2 --only W3-100
