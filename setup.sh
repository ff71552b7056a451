#!/usr/bin/env bash
# nncert setup: installs the Debian packages nncert builds with (idempotently), configures and
# builds, then runs the requested job.
#
#   ./setup.sh demo    install + build + load the bundled MNIST model, print its summary, run
#                      it on a bundled digit and bound its margins over an Linf ball with CROWN
#                      (the README's first quick-start command)
#   ./setup.sh test    install + build + run the whole test suite (the README's second command,
#                      and what CI runs)
#   ./setup.sh build   install + build only
#   ./setup.sh deps    install the packages only
#
# Environment: BUILD_DIR (default build), BUILD_TYPE (default Release), JOBS (default: cores),
# NNCERT_CMAKE_ARGS (extra CMake arguments). With CI=true warnings are errors.
set -euo pipefail
cd "$(dirname "$0")"

job=${1:-build}
BUILD_DIR=${BUILD_DIR:-build}
BUILD_TYPE=${BUILD_TYPE:-Release}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libeigen3-dev libboost-graph-dev libz3-dev
  libonnx-dev libprotobuf-dev protobuf-compiler
  nlohmann-json3-dev libcli11-dev catch2 zlib1g-dev libssl-dev libyaml-cpp-dev
  python3-jsonschema libxml2-utils
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_deps() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${#packages[@]} Debian packages are installed"
    return
  fi
  echo "setup: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
}

build() {
  local args=(-S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE")
  if [ "${CI:-}" = "true" ]; then args+=(-DNNCERT_WERROR=ON); fi
  # ccache: share hits between checkouts in different folders.
  export CCACHE_NOHASHDIR=true CCACHE_BASEDIR="$PWD"
  # shellcheck disable=SC2206
  cmake "${args[@]}" ${NNCERT_CMAKE_ARGS:-}
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

case "$job" in
  deps) install_deps ;;
  build) install_deps && build ;;
  demo)
    install_deps
    build
    echo
    echo "== verify-model info verifier/examples/mnist_a_adv.onnx"
    "$BUILD_DIR/bin/verify-model" info verifier/examples/mnist_a_adv.onnx
    echo
    echo "== verify-model run verifier/examples/mnist_a_adv.onnx --input verifier/examples/mnist_digit7.json"
    "$BUILD_DIR/bin/verify-model" run verifier/examples/mnist_a_adv.onnx \
      --input verifier/examples/mnist_digit7.json --output "$BUILD_DIR/mnist_digit7.out.json"
    echo "output written to $BUILD_DIR/mnist_digit7.out.json; predicted class:"
    grep -A1 '"argmax"' "$BUILD_DIR/mnist_digit7.out.json" | tail -1 | tr -d ' ,'
    echo
    echo "== verify-model bounds verifier/examples/mnist_a_adv.onnx --method crown: lower bounds of"
    echo "   f_7(x) - f_j(x), j != 7, over the Linf ball of radius 0.1 around the digit (clipped to"
    echo "   [0, 1]); all positive = the prediction 7 is proven robust there"
    "$BUILD_DIR/bin/verify-model" bounds verifier/examples/mnist_a_adv.onnx \
      --box verifier/examples/mnist_digit7_linf01.json \
      --spec-matrix verifier/examples/margins_label7.json --method crown
    ;;
  test)
    install_deps
    build
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" -LE long
    ;;
  *)
    echo "usage: $0 [deps|build|demo|test]" >&2
    exit 2
    ;;
esac
