#include "verifier/verify_runner.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <new>
#include <sstream>

#include <unistd.h>

#include "frontends/vnnlib/vnnlib.h"
#include "passes/passes.h"
#include "verifier/cli_common.h"

namespace nncert::cli {

namespace {

using Clock = std::chrono::steady_clock;

std::atomic<bool> g_interrupt{false};

extern "C" void on_signal(int sig) {
  g_interrupt.store(true);
  std::signal(sig, SIG_DFL);  // a second Ctrl-C kills at once
}

// One model (with its normalisation), loaded once, specialised to one sample.
struct ModelSlot {
  std::string path;
  std::optional<NormalizeSpec> normalize;
  Status status;
  std::unique_ptr<AttackModel> model;
};

std::string model_key(const Job& j) {
  std::string k = j.model;
  if (j.normalize) {
    k += "|mean";
    for (double v : j.normalize->mean)
      k += " " + std::to_string(v);
    k += "|std";
    for (double v : j.normalize->std)
      k += " " + std::to_string(v);
  }
  return k;
}

}  // namespace

StopSignals::StopSignals() {
  g_interrupt.store(false);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

StopSignals::~StopSignals() {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

bool StopSignals::raised() {
  return g_interrupt.load();
}

Expected<std::unique_ptr<AttackModel>> load_verification_model(
    const std::string& path,
    const std::optional<NormalizeSpec>& normalize,
    const RunSettings& rs,
    ReportModel& info) {
  ModelLoadOptions lo;
  lo.nnet_normalize = rs.nnet_normalize;
  NNCERT_ASSIGN_OR_RETURN(LoadedModel loaded, load_model(path, lo));
  if (!rs.quiet)
    print_warnings(loaded.warnings);
  Graph& g = loaded.graph;
  info.format = loaded.format == ModelFormat::kNnet ? "nnet" : "onnx";
  NNCERT_ASSIGN_OR_RETURN(info.sha256, file_sha256(path));
  if (g.inputs().size() != 1 || g.outputs().empty())
    return Status(ErrorCode::kUnsupported,
                  "verification needs a model with exactly one input and at least one output");
  if (normalize)
    NNCERT_RETURN_IF_ERROR(apply_normalization(g, *normalize));
  const Value& in = g.value(g.inputs()[0]);
  if (!in.shape_known)
    return Status(ErrorCode::kUnsupported, "input '" + in.name + "' has an unknown rank");
  Shape s = in.shape;
  for (auto& d : s)
    if (d < 0)
      d = 1;
  NNCERT_RETURN_IF_ERROR(specialize_inputs(g, {s}));
  info.inputs = nlohmann::json::array();
  info.outputs = nlohmann::json::array();
  for (ValueId v : g.inputs())
    info.inputs.push_back({{"name", g.value(v).name}, {"shape", g.value(v).shape}});
  for (ValueId v : g.outputs())
    info.outputs.push_back({{"name", g.value(v).name}, {"shape", g.value(v).shape}});
  NNCERT_ASSIGN_OR_RETURN(
      AttackModel am,
      AttackModel::create(
          g, std::clamp<int64_t>(rs.verify.attack.restarts, 1, 64), rs.verify.threads));
  return std::make_unique<AttackModel>(std::move(am));
}

namespace {

class Progress {
 public:
  Progress(bool quiet, size_t total)
      : quiet_(quiet), tty_(isatty(fileno(stderr)) != 0), total_(total), t0_(Clock::now()) {}

  void update(const Report& r, size_t done, const ReportEntry* last) {
    if (quiet_)
      return;
    int64_t c[6] = {0, 0, 0, 0, 0, 0};
    for (const ReportEntry& e : r.entries)
      ++c[static_cast<int>(e.result.verdict)];
    const double el = std::chrono::duration<double>(Clock::now() - t0_).count();
    const double eta =
        done > 0 ? el / static_cast<double>(done) * static_cast<double>(total_ - done) : 0;
    if (tty_) {
      std::fprintf(stderr,
                   "\r[%zu/%zu] verified %lld  falsified %lld  unknown %lld  timeout %lld  "
                   "error %lld | %s elapsed, ETA %s   ",
                   done,
                   total_,
                   static_cast<long long>(c[0]),
                   static_cast<long long>(c[1]),
                   static_cast<long long>(c[2]),
                   static_cast<long long>(c[3]),
                   static_cast<long long>(c[4]),
                   clock(el).c_str(),
                   done > 0 ? clock(eta).c_str() : "--:--");
      if (done == total_)
        std::fprintf(stderr, "\n");
    } else if (last != nullptr) {
      std::fprintf(stderr,
                   "[%zu/%zu] %s: %s",
                   done,
                   total_,
                   last->name.c_str(),
                   verdict_name(last->result.verdict));
      if (!last->result.method.empty())
        std::fprintf(stderr, " (%s)", last->result.method.c_str());
      std::fprintf(stderr, " %.3f s\n", last->result.time_s);
    }
    std::fflush(stderr);
  }

  void stopped(size_t done) {
    if (!quiet_ && tty_ && done < total_)
      std::fprintf(stderr, "\n");
  }

 private:
  static std::string clock(double s) {
    const auto t = static_cast<long long>(s);
    char buf[32];
    if (t >= 3600)
      std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", t / 3600, (t / 60) % 60, t % 60);
    else
      std::snprintf(buf, sizeof buf, "%02lld:%02lld", t / 60, t % 60);
    return buf;
  }
  bool quiet_, tty_;
  size_t total_;
  Clock::time_point t0_;
};

}  // namespace

Expected<std::vector<Method>> parse_methods(const std::string& s) {
  if (s == "auto")
    return std::vector<Method>{Method::kAttack,
                               Method::kIbp,
                               Method::kCrown,
                               Method::kAlphaCrown,
                               Method::kInputBab,
                               Method::kReluBab};
  std::vector<Method> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item == "attack" || item == "pgd")
      out.push_back(Method::kAttack);
    else if (item == "ibp")
      out.push_back(Method::kIbp);
    else if (item == "crown")
      out.push_back(Method::kCrown);
    else if (item == "alpha-crown")
      out.push_back(Method::kAlphaCrown);
    else if (item == "input-bab")
      out.push_back(Method::kInputBab);
    else if (item == "bab")
      out.push_back(Method::kReluBab);
    else if (item == "smt")
      out.push_back(Method::kSmt);
    else
      return Status(
          ErrorCode::kInvalidArgument,
          "unknown method '" + item +
              "' (auto, or a comma-separated list of attack, ibp, crown, alpha-crown, input-bab, "
              "bab, smt)");
  }
  if (out.empty())
    return Status(ErrorCode::kInvalidArgument, "--method is empty");
  return out;
}

nlohmann::json run_settings_json(const RunSettings& s) {
  nlohmann::json methods = nlohmann::json::array();
  for (Method m : s.verify.methods)
    methods.push_back(method_name(m));
  return {{"methods", methods},
          {"global_timeout_s", s.global_timeout},
          {"threads", s.verify.threads},
          {"safe_rounding", s.verify.safe_rounding},
          {"alpha", {{"iterations", s.verify.alpha.iterations}, {"lr", s.verify.alpha.lr}}},
          {"attack",
           {{"random_samples", s.verify.attack.random_samples},
            {"restarts", s.verify.attack.restarts},
            {"steps", s.verify.attack.steps},
            {"seed", s.verify.attack.seed}}},
          {"bab",
           {{"branching",
             s.verify.relu_bab.branching == ReluBabOptions::Branching::kFsb ? "fsb" : "babsr"}}}};
}

Status run_jobs(std::vector<Job>& jobs, const RunSettings& rs, Report& report) {
  const auto t0 = Clock::now();
  if (report.started.empty())
    report.started = utc_now();
  std::map<std::string, size_t> model_index;
  std::vector<ModelSlot> slots;
  const size_t first_entry = report.entries.size();
  for (Job& j : jobs) {
    const std::string key = model_key(j);
    auto it = model_index.find(key);
    if (it == model_index.end()) {
      it = model_index.emplace(key, report.models.size()).first;
      slots.push_back({j.model, j.normalize, Status::ok(), nullptr});
      report.models.push_back({});
      report.models.back().path = j.model;
    }
    ReportEntry e;
    e.model = static_cast<int64_t>(it->second);
    e.name = j.name;
    e.source = j.source;
    e.timeout_s = j.timeout_s;
    e.dataset = j.dataset;
    report.entries.push_back(std::move(e));
  }
  const size_t first_model = report.models.size() - slots.size();
  auto write_report = [&]() -> Status {
    report.time_s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (rs.report_path.empty())
      return Status::ok();
    return write_json_atomic(rs.report_path, report_to_json(report));
  };
  NNCERT_RETURN_IF_ERROR(write_report());

  std::optional<StopSignals> signals(std::in_place);
  const auto global_deadline = rs.global_timeout > 0
                                   ? t0 + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(rs.global_timeout))
                                   : Clock::time_point::max();
  auto global_stop = [&]() {
    return g_interrupt.load() || Clock::now() >= global_deadline;
  };

  Progress progress(rs.quiet, jobs.size());
  progress.update(report, 0, nullptr);
  auto last_write = Clock::now();
  size_t done = 0;
  Status result = Status::ok();
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (global_stop())
      break;
    Job& job = jobs[i];
    ReportEntry& e = report.entries[first_entry + i];
    const size_t mi = static_cast<size_t>(e.model);
    ModelSlot& slot = slots[mi - first_model];
    if (!slot.model && slot.status.is_ok()) {
      auto m = load_verification_model(slot.path, slot.normalize, rs, report.models[mi]);
      if (m)
        slot.model = std::move(*m);
      else
        slot.status = m.status().with_context("model '" + slot.path + "'");
    }
    if (!slot.status.is_ok()) {
      e.result.verdict = Verdict::kError;
      e.result.message = slot.status.to_string();
      e.result.error = slot.status.code();
    } else {
      if (!job.property && job.build) {
        auto p = job.build(slot.model->num_outputs());
        if (!p) {
          e.result.verdict = Verdict::kError;
          e.result.message = p.status().to_string();
          e.result.error = p.status().code();
        } else {
          job.property = std::make_shared<Property>(std::move(*p));
        }
      } else if (!job.property) {
        auto p = load_vnnlib(job.property_path);
        if (!p) {
          e.result.verdict = Verdict::kError;
          e.result.message = p.status().to_string();
          e.result.error = p.status().code();
        } else {
          job.property = std::make_shared<Property>(std::move(*p));
        }
      }
      if (job.property) {
        VerifyOptions vo = rs.verify;
        double timeout = job.timeout_s;
        if (rs.global_timeout > 0) {
          const double left = std::chrono::duration<double>(global_deadline - Clock::now()).count();
          timeout = timeout > 0 ? std::min(timeout, left) : left;
        }
        vo.timeout_s = std::max(timeout, 1e-9);
        if (timeout <= 0 && rs.global_timeout <= 0)
          vo.timeout_s = 0;
        vo.should_stop = global_stop;
        try {
          e.result = verify_property(*slot.model, *job.property, vo);
        } catch (const std::bad_alloc&) {
          // Out of memory on one property: report it and go on with the next one.
          e.result = PropertyResult{};
          e.result.verdict = Verdict::kError;
          e.result.error = ErrorCode::kOutOfMemory;
          e.result.message = "out of memory";
        }
        job.property.reset();  // large VNNLIB properties: keep memory flat over many files
      }
    }
    if (e.result.verdict == Verdict::kNotRun)
      break;  // stopped from outside while it ran: stays "not run"
    ++done;
    progress.update(report, done, &e);
    if (std::chrono::duration<double>(Clock::now() - last_write).count() > 2.0) {
      result = write_report();
      if (!result.is_ok())
        break;
      last_write = Clock::now();
    }
  }
  report.interrupted = StopSignals::raised();
  signals.reset();
  report.global_timeout = !report.interrupted && done < jobs.size();
  progress.stopped(done);
  Status st = write_report();
  return result.is_ok() ? st : result;
}

}  // namespace nncert::cli
