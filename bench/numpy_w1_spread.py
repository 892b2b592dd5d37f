"""W1's test accuracy in numpy over several seeds: softmax regression 784 -> 10 on Fashion-MNIST, z-score,
SGD lr 0.1, batch 128, one epoch, written as bench/numpy_w5.py writes W5. Prints, per seed, the accuracy
after the epoch and the lowest and highest accuracy over its last 9 steps: how far the one-epoch figure
moves with the seed and the last step at this learning rate, which is what the engines' W1 accuracies
(74.7-82.2 %) should be read against.

Usage: OPENBLAS_NUM_THREADS=1 python bench/numpy_w1_spread.py DATA_DIR [SEEDS=6]
"""
import gzip
import os
import sys

import numpy as np


def idx(path, header):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=header)


def main():
    data = os.path.join(sys.argv[1], "fashion-mnist")
    seeds = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    train_x = idx(os.path.join(data, "train-images-idx3-ubyte.gz"), 16).reshape(-1, 784).astype(np.float32)
    train_y = idx(os.path.join(data, "train-labels-idx1-ubyte.gz"), 8).astype(np.int64)
    test_x = idx(os.path.join(data, "t10k-images-idx3-ubyte.gz"), 16).reshape(-1, 784).astype(np.float32)
    test_y = idx(os.path.join(data, "t10k-labels-idx1-ubyte.gz"), 8).astype(np.int64)
    mean, std = train_x.mean(), train_x.std()
    train_x, test_x = (train_x - mean) / std, (test_x - mean) / std
    onehot = np.eye(10, dtype=np.float32)
    batch, lr = 128, np.float32(0.1)
    steps = -(-len(train_x) // batch)
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        bound = np.sqrt(6.0 / (784 + 10))
        w = rng.uniform(-bound, bound, size=(784, 10)).astype(np.float32)
        b = np.zeros(10, dtype=np.float32)
        order = rng.permutation(len(train_x))
        last = []
        for step, i in enumerate(range(0, len(order), batch)):
            x, y = train_x[order[i:i + batch]], onehot[train_y[order[i:i + batch]]]
            logits = x @ w + b
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            grad = (p - y) / len(x)
            w -= lr * (x.T @ grad)
            b -= lr * grad.sum(axis=0)
            if step >= steps - 9:
                last.append(float(((test_x @ w + b).argmax(axis=1) == test_y).mean()))
        print(f"seed {seed}: {last[-1] * 100:.2f} % after the epoch; last 9 steps {min(last) * 100:.2f}-{max(last) * 100:.2f} %")


if __name__ == "__main__":
    main()
