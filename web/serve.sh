#!/usr/bin/env bash
# Builds the demo's wasm module and serves the page on http://127.0.0.1:8000 (a WebGPU page
# needs a secure context, which localhost is). Needs the wasm32 target and the wasm-bindgen
# command line of the version in Cargo.lock (see the README).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -p counterfeit-web --release --target wasm32-unknown-unknown
wasm-bindgen --target web --no-typescript --out-dir web/pkg \
  target/wasm32-unknown-unknown/release/counterfeit_web.wasm
# The conditional generator that draws the digits asked for.
cp models/cgan_generator.safetensors web/pkg/
if [ "${1:-}" = "--build-only" ]; then
  exit 0
fi
port="${PORT:-8000}"
echo "serving the demo on http://127.0.0.1:$port"
exec python3 -m http.server "$port" --bind 127.0.0.1 --directory web
