// verify-model manipulate: the DLV-style manipulation check (docs/manipulation.md) of dataset
// samples: for each sample and each family (brightness-contrast, pixel-steps, scratch) one answer
// with the guarantee it carries, a JSON report, and the adversarial images as PGM and PNG.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include <CLI/CLI.hpp>

#include "frontends/image/image_io.h"
#include "verifier/cli_common.h"
#include "verifier/commands.h"
#include "verifier/exit_codes.h"
#include "verifier/manipulation_report.h"
#include "verifier/verify_runner.h"
#include "verifier/verify_sources.h"
#include "verify/manipulation_families.h"

namespace nncert::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct ManipulateCmdOptions {
  std::string model;
  DatasetSpecOptions dataset;
  std::string families = "brightness-contrast,pixel-steps,scratch";
  std::vector<double> contrast{0.8, 1.2}, brightness{-0.1, 0.1};
  int64_t pixels = 4;
  std::string pixel_list;
  int64_t steps = 2;
  double step_size = 0.1;
  std::string scratch;  // "C0,R0,C1,R1"
  int64_t scratch_length = 0;
  std::vector<double> intensity;
  std::string grid;
  std::string image_shape;  // "C,H,W"
  double cell_timeout = 10;
  double timeout = 0;
  std::string method = "auto";
  std::string region = "theta";
  bool no_blocks = false;
  int64_t block_bab = -1;
  int threads = 0;
  std::string report;
  std::string export_dir;
  bool quiet = false;
  AttackOptions attack;
  AlphaOptions alpha;
} g_m;

Expected<std::vector<int64_t>> int_list(const std::string& text, const char* flag) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      out.push_back(std::stoll(item, &used));
      if (used != item.size())
        throw std::invalid_argument(item);
    } catch (const std::exception&) {
      return Status(ErrorCode::kInvalidArgument,
                    std::string(flag) + ": '" + item + "' is not an integer");
    }
  }
  if (out.empty())
    return Status(ErrorCode::kInvalidArgument, std::string(flag) + " is empty");
  return out;
}

// C x H x W of the model input: --image-shape, else [1, C, H, W] / [1, H, W] / [C, H, W] inputs,
// else the dataset's per-sample [H, W] when it fits, else one row.
Expected<ImageLayout> image_layout(const Shape& input, const Shape& sample, int64_t n) {
  ImageLayout l;
  if (!g_m.image_shape.empty()) {
    NNCERT_ASSIGN_OR_RETURN(std::vector<int64_t> s, int_list(g_m.image_shape, "--image-shape"));
    if (s.size() != 3)
      return Status(ErrorCode::kInvalidArgument, "--image-shape takes C,H,W");
    l = {s[0], s[1], s[2]};
  } else if (input.size() == 4) {
    l = {input[1], input[2], input[3]};
  } else if (input.size() == 3) {
    l = input[0] == 1 ? ImageLayout{1, input[1], input[2]}
                      : ImageLayout{input[0], input[1], input[2]};
  } else if (sample.size() == 2 && sample[0] * sample[1] == n) {
    l = {1, sample[0], sample[1]};
  } else if (sample.size() == 3 && sample[0] * sample[1] * sample[2] == n) {
    l = {sample[0], sample[1], sample[2]};
  } else {
    l = {1, 1, n};
  }
  if (l.size() != n || l.channels < 1 || l.height < 1 || l.width < 1)
    return Status(ErrorCode::kShapeMismatch,
                  "the image shape " + std::to_string(l.channels) + "x" + std::to_string(l.height) +
                      "x" + std::to_string(l.width) + " does not fit the model's " +
                      std::to_string(n) + " input values");
  return l;
}

Expected<Manipulation> build_family(const std::string& family,
                                    const std::vector<double>& x0,
                                    int64_t label,
                                    const ImageLayout& layout,
                                    double lo,
                                    double hi,
                                    const Graph& model,
                                    std::vector<double>& gradient) {
  auto grad = [&]() -> Status {
    if (gradient.empty()) {
      NNCERT_ASSIGN_OR_RETURN(gradient, margin_gradient(model, x0, label));
    }
    return Status::ok();
  };
  if (family == "brightness-contrast") {
    BrightnessContrastOptions o;
    o.contrast_lo = g_m.contrast[0];
    o.contrast_hi = g_m.contrast[1];
    o.brightness_lo = g_m.brightness[0];
    o.brightness_hi = g_m.brightness[1];
    return brightness_contrast(x0, layout, lo, hi, o);
  }
  if (family == "pixel-steps") {
    PixelStepsOptions o;
    o.count = g_m.pixels;
    o.steps = g_m.steps;
    o.step_size = g_m.step_size;
    if (!g_m.pixel_list.empty()) {
      NNCERT_ASSIGN_OR_RETURN(o.pixels, int_list(g_m.pixel_list, "--pixel-list"));
    } else {
      NNCERT_RETURN_IF_ERROR(grad());
    }
    return pixel_steps(x0, layout, lo, hi, o, gradient);
  }
  ScratchOptions o;
  o.length = g_m.scratch_length;
  if (g_m.intensity.size() == 2) {
    o.intensity_lo = g_m.intensity[0];
    o.intensity_hi = g_m.intensity[1];
  }
  if (!g_m.scratch.empty()) {
    NNCERT_ASSIGN_OR_RETURN(std::vector<int64_t> l, int_list(g_m.scratch, "--scratch"));
    if (l.size() != 4)
      return Status(ErrorCode::kInvalidArgument, "--scratch takes COLUMN0,ROW0,COLUMN1,ROW1");
    o.line = std::array<int64_t, 4>{l[0], l[1], l[2], l[3]};
  } else {
    NNCERT_RETURN_IF_ERROR(grad());
  }
  return scratch(x0, layout, lo, hi, o, gradient);
}

// Writes the counterexample's image (PGM/PPM and PNG) and re-executes its 8-bit version.
Status export_image(const std::string& stem,
                    const ManipulationEntry& e,
                    const AttackModel& model,
                    ExportedImage& out) {
  const ManipulationCounterexample& ce = *e.result.counterexample;
  const Manipulation& m = e.manipulation;
  const ImageLayout& l = m.layout;
  if (!(m.lo < m.hi))
    return Status::ok();  // a constant range has no image to show
  NNCERT_ASSIGN_OR_RETURN(Image8 img, to_image8(ce.x, l.channels, l.height, l.width, m.lo, m.hi));
  out.pgm = stem + (img.channels == 3 ? ".ppm" : ".pgm");
  out.png = stem + ".png";
  NNCERT_RETURN_IF_ERROR(write_pnm(out.pgm, img));
  NNCERT_RETURN_IF_ERROR(write_png(out.png, img));
  NNCERT_ASSIGN_OR_RETURN(Image8 back, read_pnm(out.pgm));
  NNCERT_ASSIGN_OR_RETURN(std::vector<double> xq,
                          from_image8(back, l.channels, l.height, l.width, m.lo, m.hi));
  NNCERT_ASSIGN_OR_RETURN(std::vector<double> y, model.evaluate(xq));
  out.quantized_predicted = static_cast<int64_t>(std::max_element(y.begin(), y.end()) - y.begin());
  // A tie with the label counts as a class change, as in the check.
  bool changed = false;
  for (size_t j = 0; j < y.size(); ++j)
    if (static_cast<int64_t>(j) != e.label && y[j] >= y[static_cast<size_t>(e.label)])
      changed = true;
  out.quantized_adversarial = changed;
  return Status::ok();
}

void print_progress(size_t done, size_t total, const ManipulationEntry& e) {
  const ManipulationCheckResult& r = e.result;
  std::fprintf(stderr,
               "[%zu/%zu] sample %lld %s: %s",
               done,
               total,
               static_cast<long long>(e.sample),
               e.family.c_str(),
               manipulation_answer_name(r.answer));
  if (r.counterexample)
    std::fprintf(stderr,
                 " (class %lld by %s)",
                 static_cast<long long>(r.counterexample->predicted),
                 r.counterexample->found_by.c_str());
  else
    std::fprintf(stderr,
                 " (%lld/%lld cells certified, %lld grid-only)",
                 static_cast<long long>(r.cells_certified),
                 static_cast<long long>(r.cells),
                 static_cast<long long>(r.cells_grid_only));
  std::fprintf(stderr, " %.3f s\n", r.time_s);
}

nlohmann::json options_json(const std::vector<std::string>& families) {
  return {{"dataset", dataset_options_json(g_m.dataset, false)},
          {"families", families},
          {"brightness", g_m.brightness},
          {"contrast", g_m.contrast},
          {"pixels",
           g_m.pixel_list.empty() ? nlohmann::json(g_m.pixels) : nlohmann::json(g_m.pixel_list)},
          {"steps", g_m.steps},
          {"step_size", g_m.step_size},
          {"scratch", g_m.scratch.empty() ? nlohmann::json("auto") : nlohmann::json(g_m.scratch)},
          {"grid", g_m.grid.empty() ? nlohmann::json("default") : nlohmann::json(g_m.grid)},
          {"cell_timeout_s", g_m.cell_timeout},
          {"timeout_s", g_m.timeout},
          {"method", g_m.method},
          {"region", g_m.region},
          {"blocks", !g_m.no_blocks},
          {"block_bab", g_m.block_bab},
          {"threads", g_m.threads},
          {"seed", g_m.attack.seed},
          {"export_dir", g_m.export_dir}};
}

int run_manipulate() {
  // ---- options
  std::vector<std::string> families;
  {
    std::stringstream ss(g_m.families);
    std::string f;
    while (std::getline(ss, f, ','))
      if (f == "brightness-contrast" || f == "pixel-steps" || f == "scratch")
        families.push_back(f);
      else
        return report_error(
            {ErrorCode::kInvalidArgument,
             "unknown family '" + f + "' (brightness-contrast, pixel-steps, scratch)"});
  }
  if (families.empty())
    return report_error({ErrorCode::kInvalidArgument, "--family is empty"});
  for (const auto* r : {&g_m.contrast, &g_m.brightness, &g_m.intensity})
    if (r->size() == 2 && !((*r)[0] <= (*r)[1]))
      return report_error({ErrorCode::kInvalidArgument,
                           "a range LO HI needs LO <= HI (--contrast, --brightness, --intensity)"});
  if (g_m.dataset.path.empty())
    return report_error({ErrorCode::kInvalidArgument, "manipulate needs --dataset"});
  if (g_m.dataset.no_clip)
    return report_error({ErrorCode::kInvalidArgument,
                         "manipulate needs the pixel range (--clip LO HI or the data's range)"});
  ManipulationCheckOptions co;
  if (!g_m.grid.empty()) {
    auto grid = int_list(g_m.grid, "--grid");
    if (!grid)
      return report_error(grid.status());
    co.grid = *grid;
  }
  if (g_m.method == "grid") {
    co.cell.methods.clear();  // DLV: every cell's grid points, no bounds
  } else {
    auto methods = parse_methods(g_m.method);
    if (!methods)
      return report_error(methods.status());
    co.cell.methods = *methods;
    if (g_m.method == "auto")
      co.cell.relu_bab_min_inputs = kAutoReluBabMinInputs;
  }
  co.region = g_m.region == "box" ? ManipulationCheckOptions::Region::kBox
                                  : ManipulationCheckOptions::Region::kTheta;
  co.blocks = !g_m.no_blocks;
  co.block_bab_domains = g_m.block_bab;
  co.timeout_s = g_m.timeout;
  co.cell.timeout_s = g_m.cell_timeout;
  co.cell.threads = g_m.threads;
  co.cell.attack = g_m.attack;
  co.cell.alpha = g_m.alpha;
  if (Status st = co.validate(); !st.is_ok())
    return report_error(st);

  // ---- data and model
  auto sel = select_dataset(g_m.dataset);
  if (!sel)
    return report_error(sel.status());
  const double lo = *sel->clip_lo, hi = *sel->clip_hi;
  RunSettings rs;
  rs.quiet = g_m.quiet;
  rs.verify.threads = g_m.threads;
  rs.verify.attack = g_m.attack;
  ManipulationReport report;
  report.started = utc_now();
  report.options = options_json(families);
  report.model.path = g_m.model;
  auto model = load_verification_model(g_m.model, sel->normalize, rs, report.model);
  if (!model)
    return report_error(model.status().with_context("model '" + g_m.model + "'"));
  const AttackModel& am = **model;
  const Graph& g = am.single();
  auto layout = image_layout(g.value(g.inputs()[0]).shape, sel->data->shape, am.num_inputs());
  if (!layout)
    return report_error(layout.status());
  if (!g_m.export_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(g_m.export_dir, ec);
    if (ec)
      return report_error(
          {ErrorCode::kIoError, "cannot create '" + g_m.export_dir + "': " + ec.message()});
  }

  // ---- the checks
  const Dataset& data = *sel->data;
  report.planned = data.size() * static_cast<int64_t>(families.size());
  const auto t0 = Clock::now();
  auto write = [&]() -> Status {
    report.time_s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (g_m.report.empty())
      return Status::ok();
    return write_json_atomic(g_m.report, manipulation_report_json(report));
  };
  if (Status st = write(); !st.is_ok())
    return report_error(st);
  StopSignals signals;
  co.should_stop = [] {
    return StopSignals::raised();
  };
  Status first_error = Status::ok();
  for (int64_t i = 0; i < data.size() && !StopSignals::raised(); ++i) {
    const std::vector<double>& x0 = data.x[static_cast<size_t>(i)];
    const int64_t label = data.labels[static_cast<size_t>(i)];
    const int64_t index = data.first_index + i;
    std::vector<double> gradient;
    for (const std::string& family : families) {
      if (StopSignals::raised())
        break;
      ManipulationEntry e;
      e.sample = index;
      e.label = label;
      e.family = family;
      auto m = build_family(family, x0, label, *layout, lo, hi, g, gradient);
      if (!m) {
        e.result.answer = ManipulationAnswer::kError;
        e.result.error = m.status().code();
        e.result.message = m.status().message();
      } else {
        e.manipulation = std::move(*m);
        e.result = check_manipulation(am, e.manipulation, label, co);
      }
      if (e.result.answer == ManipulationAnswer::kNotRun)
        break;
      if (e.result.counterexample && !g_m.export_dir.empty()) {
        const std::string stem = (std::filesystem::path(g_m.export_dir) /
                                  ("sample" + std::to_string(index) + "-" + family))
                                     .string();
        if (Status st = export_image(stem, e, am, e.image); !st.is_ok())
          return report_error(st);
      }
      if (e.result.answer == ManipulationAnswer::kError && first_error.is_ok())
        first_error =
            Status(e.result.error,
                   "sample " + std::to_string(index) + " " + family + ": " + e.result.message);
      report.entries.push_back(std::move(e));
      if (!g_m.quiet)
        print_progress(
            report.entries.size(), static_cast<size_t>(report.planned), report.entries.back());
      if (Status st = write(); !st.is_ok())
        return report_error(st);
    }
  }
  report.interrupted = StopSignals::raised();
  if (Status st = write(); !st.is_ok())
    return report_error(st);

  // ---- summary
  if (!g_m.quiet) {
    const nlohmann::json s = manipulation_summary(report);
    for (const auto& [f, c] : s["families"].items())
      std::printf(
          "%-20s %lld checks: %lld verified-continuous, %lld verified-grid-only, "
          "%lld falsified, %lld unknown, %lld error (%.2f s)\n",
          f.c_str(),
          static_cast<long long>(c["total"].get<int64_t>()),
          static_cast<long long>(c["verified-continuous"].get<int64_t>()),
          static_cast<long long>(c["verified-grid-only"].get<int64_t>()),
          static_cast<long long>(c["falsified"].get<int64_t>()),
          static_cast<long long>(c["unknown"].get<int64_t>()),
          static_cast<long long>(c["error"].get<int64_t>()),
          c["time_s"].get<double>());
    if (!g_m.report.empty())
      std::printf("report: %s\n", g_m.report.c_str());
  }
  if (report.interrupted)
    return kExitInterrupted;
  if (!first_error.is_ok()) {
    std::fprintf(stderr, "verify-model: %s\n", first_error.message().c_str());
    const ExitCode code = exit_code_for(first_error.code());
    return code == kExitOk ? kExitRuntime : code;
  }
  return kExitOk;
}

}  // namespace

void add_manipulate_command(CLI::App& app, int (*&run)()) {
  CLI::App* sub = app.add_subcommand(
      "manipulate",
      "DLV-style manipulation check of dataset samples: brightness/contrast, per-pixel steps, a "
      "scratch line. Each grid cell of the manipulation's parameters is certified over its whole "
      "continuous extent; cells left open fall back to their grid points. One answer per sample "
      "and family: verified-continuous, verified-grid-only, falsified (image exported), unknown.");
  sub->add_option("model", g_m.model, "MODEL (.onnx or .nnet)")->required();
  add_dataset_options(*sub, g_m.dataset, false);
  const char* fam = "Families";
  sub->add_option("--family",
                  g_m.families,
                  "comma-separated: brightness-contrast, pixel-steps, scratch (default: all)")
      ->group(fam);
  sub->add_option("--contrast", g_m.contrast, "contrast factor range LO HI (default 0.8 1.2)")
      ->expected(2)
      ->group(fam);
  sub->add_option(
         "--brightness", g_m.brightness, "brightness offset range LO HI (default -0.1 0.1)")
      ->expected(2)
      ->group(fam);
  sub->add_option(
         "--pixels", g_m.pixels, "pixel-steps: how many features to move (most effective first)")
      ->check(CLI::PositiveNumber)
      ->group(fam);
  sub->add_option("--pixel-list", g_m.pixel_list, "pixel-steps: flat feature indices i,j,...")
      ->group(fam);
  sub->add_option("--steps", g_m.steps, "pixel-steps: steps each way (default 2)")
      ->check(CLI::Range(0, 1000000))
      ->group(fam);
  sub->add_option("--step-size", g_m.step_size, "pixel-steps: step size in data units (0.1)")
      ->check(CLI::PositiveNumber)
      ->group(fam);
  sub->add_option("--scratch",
                  g_m.scratch,
                  "scratch: the segment COLUMN0,ROW0,COLUMN1,ROW1 (default: chosen)")
      ->group(fam);
  sub->add_option("--scratch-length",
                  g_m.scratch_length,
                  "scratch: length of chosen lines (default: half the image)")
      ->check(CLI::Range(1, 1000000))
      ->group(fam);
  sub->add_option(
         "--intensity", g_m.intensity, "scratch: intensity range LO HI (default: the pixel range)")
      ->expected(2)
      ->group(fam);
  sub->add_option("--image-shape",
                  g_m.image_shape,
                  "C,H,W of the model input (default: from the model / data)")
      ->group(fam);
  const char* chk = "Check";
  sub->add_option("--grid", g_m.grid, "cells per parameter: N or N1,N2,... (default: the family's)")
      ->group(chk);
  sub->add_option("--cell-timeout", g_m.cell_timeout, "seconds per cell (0 = none; default 10)")
      ->check(CLI::NonNegativeNumber)
      ->group(chk);
  sub->add_option("--timeout", g_m.timeout, "seconds per sample and family (0 = none)")
      ->check(CLI::NonNegativeNumber)
      ->group(chk);
  sub->add_option("--method",
                  g_m.method,
                  "auto, a comma-separated list as for verify, or grid (no bounds: DLV's grid)")
      ->group(chk);
  sub->add_option("--region",
                  g_m.region,
                  "how cells are bounded: theta (the model with the manipulation prepended, "
                  "default) or box (the per-pixel hull; exact for pixel-steps)")
      ->check(CLI::IsMember({"theta", "box"}))
      ->group(chk);
  sub->add_flag("--no-blocks",
                g_m.no_blocks,
                "bound every cell on its own (no bisection from the whole range)")
      ->group(chk);
  sub->add_option("--block-bab",
                  g_m.block_bab,
                  "input BaB domains per block before it is bisected (-1: 400 for 3 or more "
                  "parameters, else 0)")
      ->check(CLI::Range(int64_t{-1}, int64_t{1} << 40))
      ->group(chk);
  sub->add_option("--threads", g_m.threads, "threads to use (0 = all cores)")
      ->check(CLI::Range(0, 256));
  sub->add_option("--seed", g_m.attack.seed, "random seed of the attack");
  sub->add_option("--alpha-iterations", g_m.alpha.iterations, "alpha-CROWN Adam steps")
      ->check(CLI::Range(0, 100000));
  sub->add_option("--report,-o", g_m.report, "write the JSON report here (docs/manipulation.md)");
  sub->add_option("--export-dir", g_m.export_dir, "write adversarial images (PGM and PNG) here");
  sub->add_flag("--quiet,-q", g_m.quiet, "no progress and no summary");
  sub->callback([&run] { run = &run_manipulate; });
}

}  // namespace nncert::cli
