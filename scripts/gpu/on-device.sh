#!/usr/bin/env bash
# Runs on the GPU machine (see pack-device.sh): unpacks Node and the packages,
# builds the addon with plain CMake against PyTorch's CUDA libtorch, runs the
# CUDA tests and the test suite. Also works on a CPU machine (as a dry run).
set -euo pipefail
cd "$(dirname "$0")/../.."
work="${TMPDIR:-/tmp}/torch-gan-device"
mkdir -p "$work/bin"
xz -dc .device/node.xz > "$work/bin/node" && chmod +x "$work/bin/node"
export PATH="$work/bin:$PATH"
[ -d node_modules/uvu ] || tar -xJf .device/node_modules.tar.xz
dir_lib=$(node scripts/find-libtorch.js --cmake)
cmakedir="${dir_lib%%;*}"; libdir="${dir_lib##*;}"
node scripts/find-libtorch.js
cmake -S . -B build/device -G "$(command -v ninja >/dev/null && echo Ninja || echo 'Unix Makefiles')" \
  -DCMAKE_BUILD_TYPE=Release -DTORCH_CMAKE_DIR="$cmakedir" -DTORCH_LIB_DIR="$libdir" > "$work/cmake.log" 2>&1 || { cat "$work/cmake.log"; exit 1; }
cmake --build build/device -j "$(nproc)"
node -e "require('tsx/cjs'); const tg=require('./lib'); console.log(JSON.stringify(tg.diagnostics(), null, 1))"
export TORCH_GAN_TEST_CUDA=1
node scripts/run-tests.js "${1:-\\.test\\.ts$}"
