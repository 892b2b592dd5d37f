"""W1's test accuracy in numpy over several seeds: softmax regression 784 -> 10 on Fashion-MNIST, z-score,
SGD lr 0.1, batch 128, one epoch, with bench/numpy_w5.py's loading and step. Prints, per seed, the accuracy
after the epoch and the lowest and highest accuracy over its last 9 steps: how far the one-epoch figure
moves with the seed and the last step at this learning rate, which is what the engines' W1 accuracies
(74.7-82.2 %) should be read against.

Usage: OPENBLAS_NUM_THREADS=1 python bench/numpy_w1_spread.py DATA_DIR [SEEDS=6]
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from numpy_w5 import accuracy, init, load, sgd_step  # noqa: E402


def main():
    seeds = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    train_x, train_y, test_x, test_y = load(sys.argv[1])
    onehot = np.eye(10, dtype=np.float32)
    batch, lr = 128, np.float32(0.1)
    steps = -(-len(train_x) // batch)
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        w, b = init(rng)
        order = rng.permutation(len(train_x))
        last = []
        for step, i in enumerate(range(0, len(order), batch)):
            sgd_step(w, b, train_x[order[i:i + batch]], onehot[train_y[order[i:i + batch]]], lr)
            if step >= steps - 9:
                last.append(accuracy(w, b, test_x, test_y))
        print(f"seed {seed}: {last[-1] * 100:.2f} % after the epoch; last 9 steps {min(last) * 100:.2f}-{max(last) * 100:.2f} %")


if __name__ == "__main__":
    main()
