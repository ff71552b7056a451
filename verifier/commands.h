// verify-model subcommands: each registers its flags on a CLI11 app and runs from an options
// struct. main.cpp wires them together.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace nncert::cli {

// Registers the subcommand; `run` is set to the function to call when it was chosen.
void add_info_command(CLI::App& app, int (*&run)());
void add_run_command(CLI::App& app, int (*&run)());
void add_bounds_command(CLI::App& app, int (*&run)());
void add_verify_command(CLI::App& app, int (*&run)());
void add_gate_command(CLI::App& app, int (*&run)());
void add_manipulate_command(CLI::App& app, int (*&run)());
void add_export_command(CLI::App& app, int (*&run)());
void add_train_command(CLI::App& app, int (*&run)());
void add_eval_command(CLI::App& app, int (*&run)());

}  // namespace nncert::cli
