// The TensorFlow.js side of `./lab bench`: the same workloads as `src/bench/workloads.rs` (W1-W5), written
// with tf.layers as a TensorFlow.js user would, on one backend per page. bench/workloads.mjs calls
// `runTfjs(workload, backend)` and gets one row back. Data: the Fashion-MNIST files the lab serves.
/* global tf */
"use strict";

/** The gzipped IDX file at `url` as bytes past its header. */
async function idx(url, header) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const stream = response.body.pipeThrough(new DecompressionStream("gzip"));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  return bytes.subarray(header);
}

/** Fashion-MNIST z-scored with the training set's mean and standard deviation, labels one-hot. */
async function fashion() {
  const dir = "/data/fashion-mnist";
  const [trainX, trainY, testX, testY] = await Promise.all([
    idx(`${dir}/train-images-idx3-ubyte.gz`, 16), idx(`${dir}/train-labels-idx1-ubyte.gz`, 8),
    idx(`${dir}/t10k-images-idx3-ubyte.gz`, 16), idx(`${dir}/t10k-labels-idx1-ubyte.gz`, 8)]);
  let sum = 0, sq = 0;
  for (const v of trainX) { sum += v; sq += v * v; }
  const mean = sum / trainX.length, std = Math.sqrt(sq / trainX.length - mean * mean);
  const images = (bytes) => {
    const out = new Float32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) out[i] = (bytes[i] - mean) / std;
    return out;
  };
  return { train: [images(trainX), trainY], test: [images(testX), testY] };
}

const sgd = (lr) => tf.train.sgd(lr);
const adam = (lr) => tf.train.adam(lr, 0.9, 0.999, 1e-7);

/** The models of W1-W5, as in src/bench/workloads.rs. */
function model(workload) {
  const m = tf.sequential();
  if (workload === "W1" || workload === "W5") {
    m.add(tf.layers.dense({ units: 10, inputShape: [784], activation: "softmax" }));
  } else if (workload === "W2") {
    m.add(tf.layers.dense({ units: 128, inputShape: [784], activation: "relu" }));
    m.add(tf.layers.dense({ units: 64, activation: "relu" }));
    m.add(tf.layers.dense({ units: 10, activation: "softmax" }));
  } else {
    m.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, padding: "same", activation: "relu" }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
    m.add(tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: "same", activation: "relu" }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 10, activation: "softmax" }));
  }
  const [optimizer, batch, epochs] = { W1: [sgd(0.1), 128, 1], W2: [adam(1e-3), 128, 1], "W3-100": [adam(1e-3), 128, 1],
    W3: [adam(1e-3), 128, 1], W5: [sgd(0.01), 5000, 100] }[workload];
  m.compile({ optimizer, loss: "categoricalCrossentropy", metrics: ["accuracy"] });
  return { m, batch, epochs };
}

async function gemm(backend) {
  const a = tf.randomUniform([1024, 1024], -1, 1), b = tf.randomUniform([1024, 1024], -1, 1);
  const once = async () => { const c = tf.matMul(a, b); await c.data(); c.dispose(); };
  await once();
  const samples = [];
  for (let i = 0; i < 10; i++) { const t0 = performance.now(); await once(); samples.push(performance.now() - t0); }
  samples.sort((x, y) => x - y);
  const seconds = (samples[4] + samples[5]) / 2e3;
  return { workload: "W4", engine: "tfjs", backend, seconds, examples_per_s: 0, gflops: 2 * 1024 ** 3 / seconds / 1e9,
    accuracy: null, steps: 1 };
}

/** Sets the backend (wasm: SIMD, and threads when the page is cross-origin isolated) and says which. */
async function useBackend(backend) {
  if (backend === "wasm") tf.wasm.setWasmPaths("/tfjs/node_modules/@tensorflow/tfjs-backend-wasm/dist/");
  if (!(await tf.setBackend(backend))) throw new Error(`TensorFlow.js backend '${backend}' did not start`);
  await tf.ready();
  if (backend === "wasm") {
    const threads = tf.wasm.getThreadsCount?.() ?? 1;
    return `wasm (SIMD, ${threads} thread${threads === 1 ? "" : "s"})`;
  }
  if (backend === "webgl") return `webgl (${tf.env().getNumber("WEBGL_VERSION") === 2 ? "WebGL 2" : "WebGL 1"})`;
  return backend;
}

window.runTfjs = async (workload, backend) => {
  const label = await useBackend(backend);
  if (workload === "W4") return gemm(label);
  const data = await fashion();
  const steps = workload === "W3-100" ? 100 : null;
  const conv = workload.startsWith("W3");
  const { m, batch, epochs } = model(workload);
  const n = steps === null ? data.train[1].length : steps * batch;
  const shape = (rows) => (conv ? [rows, 28, 28, 1] : [rows, 784]);
  const xs = tf.tensor(data.train[0].subarray(0, n * 784), shape(n));
  const ys = tf.oneHot(tf.tensor1d(Int32Array.from(data.train[1].subarray(0, n)), "int32"), 10);
  const tx = tf.tensor(data.test[0], shape(data.test[1].length));
  const ty = tf.oneHot(tf.tensor1d(Int32Array.from(data.test[1]), "int32"), 10);
  const t0 = performance.now();
  // Like the lab: shuffled batches, the test set evaluated at the end of every epoch (not for W3-100).
  const history = await m.fit(xs, ys, { batchSize: batch, epochs, shuffle: true, verbose: 0,
    validationData: steps === null ? [tx, ty] : undefined });
  const seconds = (performance.now() - t0) / 1e3;
  const acc = steps === null ? history.history.val_acc.at(-1) : null;
  const stepsTaken = Math.ceil(n / batch) * epochs;
  tf.dispose([xs, ys, tx, ty]);
  m.dispose();
  return { workload, engine: "tfjs", backend: label, seconds, examples_per_s: (n * epochs) / seconds, gflops: null,
    accuracy: acc ?? null, steps: stepsTaken };
};
window.tfjsReady = true;
