#!/usr/bin/env bash
# Prepares .device/ (ignored by git) for the GPU machine, which has CUDA, CMake,
# a compiler and PyTorch (its CUDA libtorch) but no Node and no registry:
#   .device/node.xz            this machine's Node binary, compressed (~24 MB)
#   .device/node_modules.tar.xz the few packages the build and the tests need
# Then, with the device tool: carry [".device"] and run scripts/gpu/on-device.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .device
xz -T0 -c "$(command -v node)" > .device/node.xz
pkgs=(node-addon-api node-api-headers pngjs gifenc uvu dequal diff kleur sade mri tsx esbuild @esbuild get-tsconfig resolve-pkg-maps)
present=()
for p in "${pkgs[@]}"; do [ -e "node_modules/$p" ] && present+=("node_modules/$p"); done
tar -cJf .device/node_modules.tar.xz "${present[@]}" node_modules/.bin/tsx node_modules/.bin/uvu 2>/dev/null || tar -cJf .device/node_modules.tar.xz "${present[@]}"
du -sh .device/*
