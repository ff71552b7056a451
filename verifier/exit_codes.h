// Exit codes of verify-model (documented in docs/cli.md). Stable: scripts and CI rely on them.
#pragma once

#include "core/status.h"

namespace nncert::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitInternal = 1,      // a bug: an unexpected exception or failed internal check
  kExitUsage = 2,         // bad command line (unknown flag, missing argument)
  kExitIo = 3,            // a file could not be opened, read or written
  kExitParse = 4,         // a malformed model or input file
  kExitUnsupported = 5,   // the model uses ops/features nncert does not support
  kExitInvalidModel = 6,  // graph errors: cycle, dangling input, shape mismatch, bad attribute
  kExitRuntime = 7,       // execution failed (e.g. a data-dependent error)
  kExitOutOfMemory = 8,
  kExitTimeout = 9,
  kExitInterrupted = 10,
  // verify-model gate only: 1 is "the gate failed" there, so its internal errors use 11.
  kExitGateFailed = 1,
  kExitGateInternal = 11,
};

ExitCode exit_code_for(ErrorCode code);

}  // namespace nncert::cli
