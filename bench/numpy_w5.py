"""W5 in numpy, the baseline the issue names: the normalization study's z-score run (softmax regression
784 -> 10 on Fashion-MNIST, SGD lr 0.01, batch 5000, 100 epochs, the test set evaluated after each epoch),
written the way the textbook's notebook does it. `./lab bench` runs it with OPENBLAS_NUM_THREADS=1 so that
it compares with the single-threaded lab, and prints one JSON row like bench/workloads.mjs's.

Usage: python bench/numpy_w5.py DATA_DIR [EPOCHS]
"""
import gzip
import json
import os
import sys
import time

import numpy as np


def idx(path, header):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=header)


def load(data_dir):
    """Fashion-MNIST's train and test images as float32 rows z-scored with the training set's mean and
    standard deviation (one of each over all pixels), with their labels."""
    data = os.path.join(data_dir, "fashion-mnist")
    train_x = idx(os.path.join(data, "train-images-idx3-ubyte.gz"), 16).reshape(-1, 784).astype(np.float32)
    train_y = idx(os.path.join(data, "train-labels-idx1-ubyte.gz"), 8).astype(np.int64)
    test_x = idx(os.path.join(data, "t10k-images-idx3-ubyte.gz"), 16).reshape(-1, 784).astype(np.float32)
    test_y = idx(os.path.join(data, "t10k-labels-idx1-ubyte.gz"), 8).astype(np.int64)
    mean, std = train_x.mean(), train_x.std()
    return (train_x - mean) / std, train_y, (test_x - mean) / std, test_y


def init(rng):
    """Glorot-uniform weights (784, 10) and zero biases."""
    bound = np.sqrt(6.0 / (784 + 10))
    return rng.uniform(-bound, bound, size=(784, 10)).astype(np.float32), np.zeros(10, dtype=np.float32)


def sgd_step(w, b, x, y, lr):
    """One SGD step of softmax regression with cross-entropy on the batch x, one-hot targets y (in place)."""
    logits = x @ w + b
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    grad = (p - y) / len(x)
    w -= lr * (x.T @ grad)
    b -= lr * grad.sum(axis=0)


def accuracy(w, b, x, y):
    return float(((x @ w + b).argmax(axis=1) == y).mean())


def main():
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    train_x, train_y, test_x, test_y = load(sys.argv[1])
    rng = np.random.default_rng(2026)
    w, b = init(rng)
    onehot = np.eye(10, dtype=np.float32)
    batch, lr, steps = 5000, np.float32(0.01), 0

    start = time.perf_counter()
    test_accuracy = None
    for _ in range(epochs):
        order = rng.permutation(len(train_x))
        for i in range(0, len(order), batch):
            idx_ = order[i:i + batch]
            sgd_step(w, b, train_x[idx_], onehot[train_y[idx_]], lr)
            steps += 1
        test_accuracy = accuracy(w, b, test_x, test_y)
    seconds = time.perf_counter() - start
    print(json.dumps({
        "workload": "W5", "engine": "numpy", "backend": f"numpy {np.__version__} (1 BLAS thread)",
        "seconds": seconds, "examples_per_s": len(train_x) * epochs / seconds, "gflops": None,
        "accuracy": test_accuracy, "steps": steps,
    }))


if __name__ == "__main__":
    main()
