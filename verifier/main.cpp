// verify-model: the nncert command line. Subcommands: info, run, bounds, verify,
// gate, manipulate, export, train, eval. Exit codes:
// verifier/exit_codes.h, docs/cli.md.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>
#include <malloc.h>

#include "nncert_version.h"
#include "verifier/commands.h"
#include "verifier/exit_codes.h"

int main(int argc, char** argv) {
  using namespace nncert::cli;
#ifdef __GLIBC__
  // Bound propagation allocates and frees many large coefficient matrices per iteration: keep
  // freed memory in the process instead of returning it to the kernel (glibc would mmap/munmap
  // every block over 128 KiB, and page faults plus zeroing then dominate alpha-CROWN's time).
  mallopt(M_MMAP_THRESHOLD, 512 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  CLI::App app{"verify-model " NNCERT_VERSION
               ": load, run and verify neural networks (ONNX, .nnet).\n"
               "Run 'verify-model <command> --help' for a command's options."};
  app.set_version_flag("--version", std::string("verify-model ") + NNCERT_VERSION);
  app.require_subcommand(1);
  int (*run)() = nullptr;
  add_info_command(app, run);
  add_run_command(app, run);
  add_bounds_command(app, run);
  add_verify_command(app, run);
  add_gate_command(app, run);
  add_manipulate_command(app, run);
  add_export_command(app, run);
  add_train_command(app, run);
  add_eval_command(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  try {
    return run ? run() : kExitUsage;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "verify-model: out of memory\n");
    return kExitOutOfMemory;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "verify-model: internal error: %s\n", e.what());
    return kExitInternal;
  }
}
