#!/bin/bash
# The second call of session 7's run 7 (staging as in h200-session7-run.sh): the VGG16-like net on all
# 50,000 generated CIFAR-format images for one epoch on the GPU, then every workload on the GPU and the CPU.
for f in .gl/*.deb; do dpkg -x "$f" / ; done; ldconfig
export CVJOURNEY_DATA=/tmp/d; mkdir -p /tmp/d && cp -r data/fashion-mnist /tmp/d/
B=.dev/cvjourney; L=$OUT/log2.txt
[ -d /tmp/d/cifar-10 ] || $B data synth-cifar /tmp/d/cifar-10 >/dev/null
echo "== VGG16-like, all 50000 images, 1 epoch, GPU" | tee -a $L
timeout 60 $B run ch6-cifar-vgg16 --epochs 1 --backend webgpu --set 'dataset={"name":"cifar-10"}' 2>&1 | tail -3 | tee -a $L
echo "== workloads GPU" | tee -a $L; timeout 200 $B bench --workloads --gpu 2>&1 | tail -9 | tee -a $L
echo "== workloads CPU" | tee -a $L; timeout 200 $B bench --workloads 2>&1 | tail -9 | tee -a $L
