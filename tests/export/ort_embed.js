// tests/export/ort_embed.js — runs an exported tigerfg tower in onnxruntime (onnxruntime-node) on
// raw little-endian inputs and writes the "embedding" output as raw float32: the parity test's
// runner and the README's serving example.
//
//   NODE_PATH=build/onnxrt/node_modules node tests/export/ort_embed.js MODEL.onnx OUT.f32 \
//       image:float32:7,3,32,32:images.f32 [title_ids:int64:7,8:ids.i64]
//
// Prints {"output": "embedding", "dims": [batch, embed_dim]} on success.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function readInput(spec) {
  const [name, type, dimsText, path] = spec.split(':');
  const dims = dimsText.split(',').map(Number);
  const bytes = fs.readFileSync(path);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
  let data;
  if (type === 'float32') {
    data = new Float32Array(buffer);
  } else if (type === 'int64') {
    data = new BigInt64Array(buffer);
  } else {
    throw new Error(`${spec}: type must be float32 or int64`);
  }
  const expected = dims.reduce((a, b) => a * b, 1);
  if (data.length !== expected) {
    throw new Error(`${path}: ${data.length} elements, dims ${dims} need ${expected}`);
  }
  return [name, new ort.Tensor(type, data, dims)];
}

async function main() {
  const [modelPath, outPath, ...inputSpecs] = process.argv.slice(2);
  if (!modelPath || !outPath || inputSpecs.length === 0) {
    console.error('usage: ort_embed.js MODEL.onnx OUT.f32 name:type:d0,d1,..:file ...');
    process.exit(2);
  }
  const session = await ort.InferenceSession.create(modelPath, {executionProviders: ['cpu']});
  const feeds = Object.fromEntries(inputSpecs.map(readInput));
  const result = await session.run(feeds);
  const embedding = result.embedding;
  fs.writeFileSync(outPath, Buffer.from(embedding.data.buffer, embedding.data.byteOffset,
                                        embedding.data.byteLength));
  console.log(JSON.stringify({output: 'embedding', dims: embedding.dims}));
}

main().catch((err) => {
  console.error(`ort_embed: ${err.message}`);
  process.exit(1);
});
