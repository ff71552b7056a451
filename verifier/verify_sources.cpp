#include "verifier/verify_sources.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "frontends/dataset/dataset.h"
#include "passes/input_normalization.h"
#include "spec/robustness.h"

namespace nncert::cli {

namespace fs = std::filesystem;

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos)
    return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

Job Job::vnnlib(const std::string& model, const std::string& path, double timeout_s) {
  Job j;
  j.model = model;
  j.property_path = path;
  j.name = fs::path(path).filename().string();
  j.source = {{"kind", "vnnlib"}, {"path", path}};
  j.timeout_s = timeout_s;
  return j;
}

Expected<std::vector<Job>> jobs_from_instances(const std::string& csv, double timeout_override) {
  std::ifstream f(csv);
  if (!f)
    return Status(ErrorCode::kIoError, "cannot open instances file '" + csv + "'");
  const fs::path dir = fs::path(csv).parent_path();
  std::vector<Job> jobs;
  std::string line;
  int lineno = 0;
  while (std::getline(f, line)) {
    ++lineno;
    line = trim(line);
    if (line.empty() || line[0] == '#')
      continue;
    std::vector<std::string> fields;
    std::stringstream ss(line);
    std::string field;
    while (std::getline(ss, field, ','))
      fields.push_back(trim(field));
    const std::string where = csv + ":" + std::to_string(lineno) + ": ";
    if (fields.size() < 2 || fields.size() > 3)
      return Status(ErrorCode::kParseError,
                    where + "expected 'onnx,vnnlib,timeout', got " + std::to_string(fields.size()) +
                        " field(s)");
    double timeout = 0;
    if (fields.size() == 3 && !fields[2].empty()) {
      try {
        size_t used = 0;
        timeout = std::stod(fields[2], &used);
        if (used != fields[2].size() || !(timeout >= 0))
          throw std::invalid_argument("bad");
      } catch (const std::exception&) {
        return Status(ErrorCode::kParseError,
                      where + "timeout '" + fields[2] + "' is not a number");
      }
    }
    if (timeout_override > 0)
      timeout = timeout_override;
    auto resolve = [&](const std::string& p) {
      return fs::path(p).is_absolute() ? p : (dir / p).lexically_normal().string();
    };
    Job j = Job::vnnlib(resolve(fields[0]), resolve(fields[1]), timeout);
    j.name = fields[1];
    j.source["instances"] = csv;
    j.source["line"] = lineno;
    jobs.push_back(std::move(j));
  }
  if (jobs.empty())
    return Status(ErrorCode::kParseError, "instances file '" + csv + "' lists no instance");
  return jobs;
}

void add_dataset_options(CLI::App& sub, DatasetSpecOptions& o, bool robustness) {
  const char* group =
      robustness ? "Dataset robustness (one property per sample)" : "Dataset (the samples)";
  sub.add_option("--dataset",
                 o.path,
                 "samples: IDX (e.g. MNIST, gzipped or not), .npy, CSV or JSON (docs/datasets.md)")
      ->group(group);
  sub.add_option("--labels", o.labels, "labels file for IDX / npy data (CSV: no label column)")
      ->group(group);
  sub.add_option("--dataset-format", o.format, "auto, idx, npy, csv or json")
      ->check(CLI::IsMember({"auto", "idx", "npy", "csv", "json"}))
      ->group(group);
  if (robustness) {
    sub.add_option("--eps", o.eps, "radius of the perturbation, in data space (after --scale)")
        ->check(CLI::NonNegativeNumber)
        ->group(group);
    sub.add_option("--norm", o.norm, "inf, 2 or 1")
        ->check(CLI::IsMember({"inf", "2", "1", "linf", "l2", "l1", "Linf", "L2", "L1"}))
        ->group(group);
  }
  sub.add_option("--mean", o.mean, "normalisation mean (one value, or one per channel)")
      ->group(group);
  sub.add_option("--std", o.std, "normalisation std (one value, or one per channel)")->group(group);
  sub.add_option("--clip",
                 o.clip,
                 "data range LO HI the perturbed input stays in (default: "
                 "the range of the data)")
      ->expected(2)
      ->group(group);
  sub.add_flag("--no-clip", o.no_clip, "do not clip the perturbation to a data range")
      ->group(group);
  sub.add_option("--samples", o.samples, "which samples, python-like BEGIN:END (default 0:100)")
      ->group(group);
  sub.add_option("--scale", o.scale, "multiply every value by this (default: 1/255 for u8 data)")
      ->check(CLI::PositiveNumber)
      ->group(group);
  sub.add_option("--label-column", o.label_column, "CSV: the label column (0 first, -1 last)")
      ->group(group);
}

nlohmann::json dataset_options_json(const DatasetSpecOptions& o, bool robustness) {
  nlohmann::json j = {{"path", o.path},
                      {"labels", o.labels},
                      {"format", o.format},
                      {"samples", o.samples},
                      {"no_clip", o.no_clip}};
  if (robustness) {
    j["eps"] = o.eps;
    j["norm"] = o.norm;
  }
  if (!o.mean.empty())
    j["mean"] = o.mean;
  if (!o.std.empty())
    j["std"] = o.std;
  if (!o.clip.empty())
    j["clip"] = o.clip;
  if (o.scale > 0)
    j["scale"] = o.scale;
  return j;
}

Expected<DatasetSelection> select_dataset(const DatasetSpecOptions& o) {
  DatasetSource src;
  src.path = o.path;
  src.labels_path = o.labels;
  NNCERT_ASSIGN_OR_RETURN(src.format, parse_dataset_format(o.format));
  src.label_column = o.label_column;
  NNCERT_ASSIGN_OR_RETURN(src.range, parse_sample_range(o.samples));
  if (o.scale > 0)
    src.scale = o.scale;
  NNCERT_ASSIGN_OR_RETURN(Dataset data, load_dataset(src));
  if (data.size() == 0)
    return Status(ErrorCode::kInvalidArgument,
                  "--samples " + o.samples + " selects no sample of '" + o.path + "' (" +
                      std::to_string(data.file_samples) + " samples)");
  DatasetSelection sel;
  if (!o.no_clip) {
    if (o.clip.size() == 2) {
      sel.clip_lo = o.clip[0];
      sel.clip_hi = o.clip[1];
    } else {
      // The data's range over the selected samples (e.g. [0, 1] for scaled pixels).
      double lo = std::numeric_limits<double>::infinity(), hi = -lo;
      for (const auto& x : data.x)
        for (double v : x) {
          lo = std::min(lo, v);
          hi = std::max(hi, v);
        }
      sel.clip_lo = lo;
      sel.clip_hi = hi;
    }
  }
  if (!o.mean.empty() || !o.std.empty()) {
    NormalizeSpec ns;
    ns.mean = o.mean.empty() ? std::vector<double>{0.0} : o.mean;
    ns.std = o.std.empty() ? std::vector<double>{1.0} : o.std;
    InputNormalization in;
    in.mean = ns.mean;
    in.stddev = ns.std;
    NNCERT_RETURN_IF_ERROR(in.validate());
    sel.normalize = ns;
  }
  sel.data = std::make_shared<Dataset>(std::move(data));
  return sel;
}

Expected<std::vector<Job>> jobs_from_dataset(const std::string& model,
                                             const DatasetSpecOptions& o,
                                             double timeout_s) {
  NNCERT_ASSIGN_OR_RETURN(DatasetSelection sel, select_dataset(o));
  RobustnessOptions ro;
  NNCERT_ASSIGN_OR_RETURN(ro.norm, parse_norm(o.norm));
  ro.eps = o.eps;
  ro.clip_lo = sel.clip_lo;
  ro.clip_hi = sel.clip_hi;
  NNCERT_RETURN_IF_ERROR(ro.validate());
  const std::shared_ptr<Dataset> shared = sel.data;
  std::vector<Job> jobs;
  for (int64_t i = 0; i < shared->size(); ++i) {
    Job j;
    j.model = model;
    j.normalize = sel.normalize;
    j.dataset = true;
    j.timeout_s = timeout_s;
    const int64_t index = shared->first_index + i;
    const int64_t label = shared->labels[static_cast<size_t>(i)];
    j.name = "sample " + std::to_string(index);
    j.source = {{"kind", "dataset"},
                {"path", o.path},
                {"sample", index},
                {"label", label},
                {"eps", o.eps},
                {"norm", o.norm}};
    if (ro.clip_lo)
      j.source["clip"] = {*ro.clip_lo, *ro.clip_hi};
    j.build = [shared, i, index, label, ro](int64_t num_outputs) {
      return robustness_property(shared->x[static_cast<size_t>(i)], label, num_outputs, index, ro);
    };
    jobs.push_back(std::move(j));
  }
  return jobs;
}

Status apply_normalization(Graph& g, const NormalizeSpec& norm) {
  InputNormalization in;
  in.mean = norm.mean;
  in.stddev = norm.std;
  auto r = prepend_input_normalization(g, in, 0);
  return r ? Status::ok() : r.status();
}

}  // namespace nncert::cli
