#!/bin/bash
# Staging (on the development machine, from the repo root): cargo build --release; mkdir -p .dev;
# cp target/release/cvjourney .dev/; Fashion-MNIST in data/ (./lab setup); .gl/ holds the Vulkan loader debs
# (see the device tool's README). Then run this script on the GPU machine from the repo root, carrying
# .gl, .dev and data/fashion-mnist. Output goes to $OUT.
# Device check (session 7): chapter 6/8's VGG16-like network on CIFAR-format data (generated: CIFAR-10
# cannot be downloaded here) on the GPU and the CPU, the z-score study on the GPU, and W2 (MLP) GPU vs CPU.
set -u
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
[ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export CVJOURNEY_DATA=/tmp/d
mkdir -p /tmp/d && cp -r data/fashion-mnist /tmp/d/
B=.dev/cvjourney
L=$OUT/log.txt
{ nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; nproc; } 2>&1 | tee -a "$L"
$B probe 2>&1 | tail -3 | tee -a "$L"
$B data synth-cifar /tmp/d/cifar-10 2>&1 | tee -a "$L"
set_=( --set 'dataset={"name":"cifar-10","train_limit":1000,"test_limit":500}' )
echo "== VGG16-like, 1000 images, GPU then CPU" | tee -a "$L"
timeout 60 $B run ch6-cifar-vgg16 --epochs 1 --backend webgpu "${set_[@]}" > /tmp/g1.txt 2>&1; rc=$?
tail -4 /tmp/g1.txt | tee -a "$L"
timeout 45 $B run ch6-cifar-vgg16 --epochs 1 --backend cpu "${set_[@]}" 2>&1 | tail -4 | tee -a "$L"
if [ $rc = 0 ]; then
  echo "== VGG16-like, 10000 images (the preset's slice), 2 epochs, GPU" | tee -a "$L"
  timeout 120 $B run ch6-cifar-vgg16 --epochs 2 --backend webgpu 2>&1 | tail -5 | tee -a "$L"
  echo "== ch8-cifar-zscore, 10000 images, 2 epochs, GPU" | tee -a "$L"
  timeout 90 $B run ch8-cifar-zscore --epochs 2 --backend webgpu 2>&1 | tail -7 | tee -a "$L"
else
  echo "GPU VGG run did not finish (rc $rc): the 10,000-image runs skipped" | tee -a "$L"
fi
echo "== W2 MLP: CPU then GPU" | tee -a "$L"
timeout 60 $B bench --workloads --only W2 2>&1 | tail -6 | tee -a "$L"
timeout 60 $B bench --workloads --gpu --only W2 2>&1 | tail -6 | tee -a "$L"
