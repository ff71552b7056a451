#include "verifier/report.h"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <openssl/evp.h>

#include "nncert_version.h"

namespace nncert::cli {

nlohmann::json json_number(double v) {
  if (std::isnan(v))
    return nullptr;
  if (std::isinf(v))
    return v > 0 ? "inf" : "-inf";
  return v;
}

nlohmann::json json_numbers(const std::vector<double>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (double x : v)
    a.push_back(json_number(x));
  return a;
}

nlohmann::json model_json(const ReportModel& m) {
  return {{"path", m.path},
          {"sha256", m.sha256},
          {"format", m.format},
          {"inputs", m.inputs},
          {"outputs", m.outputs}};
}

namespace {

nlohmann::json numbers(const std::vector<double>& v) {
  return json_numbers(v);
}

constexpr size_t kMaxRegionsInReport = 64;

nlohmann::json entry_json(const ReportEntry& e, size_t id) {
  const PropertyResult& r = e.result;
  nlohmann::json j;
  j["id"] = id;
  j["name"] = e.name;
  j["model"] = e.model;
  j["source"] = e.source;
  j["verdict"] = verdict_name(r.verdict);
  j["method"] = r.method.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.method);
  if (!r.message.empty())
    j["message"] = r.message;
  if (r.verdict == Verdict::kError && r.error != ErrorCode::kOk)
    j["error_kind"] = error_code_name(r.error);
  j["time_s"] = r.time_s;
  j["timeout_s"] = e.timeout_s;
  nlohmann::json mt = nlohmann::json::object();
  for (const auto& [m, t] : r.method_times)
    mt[m] = t;
  j["method_times"] = mt;
  j["domains"] = r.domains;  // branch-and-bound domains bounded (0 without BaB)
  if (r.max_open_domains > 0)
    j["max_open_domains"] = r.max_open_domains;
  if (e.dataset)
    j["misclassified"] = r.counterexample && r.method == "clean";
  j["num_regions"] = r.regions.size();
  nlohmann::json regions = nlohmann::json::array();
  for (size_t i = 0; i < r.regions.size() && i < kMaxRegionsInReport; ++i) {
    const RegionResult& rr = r.regions[i];
    nlohmann::json rj;
    rj["verified"] = rr.verified;
    rj["method"] = rr.method.empty() ? nlohmann::json(nullptr) : nlohmann::json(rr.method);
    // margin = lower bound of a . y minus b, per constraint row: > 0 refutes the row.
    std::vector<double> margins(rr.lower.size());
    for (size_t k = 0; k < rr.lower.size(); ++k)
      margins[k] = rr.lower[k] - rr.rhs[k];
    rj["lower_bounds"] = numbers(rr.lower);
    rj["rhs"] = numbers(rr.rhs);
    rj["margins"] = numbers(margins);
    rj["row_term"] = rr.row_term;
    regions.push_back(rj);
  }
  j["regions"] = regions;
  if (r.counterexample) {
    const Counterexample& ce = *r.counterexample;
    j["counterexample"] = {{"region", ce.case_index},
                           {"term", ce.term_index},
                           {"found_by", ce.found_by},
                           {"input", numbers(ce.x)},
                           {"output", numbers(ce.y)}};
  }
  return j;
}

}  // namespace

nlohmann::json report_summary(const Report& r) {
  nlohmann::json s;
  int64_t counts[6] = {0, 0, 0, 0, 0, 0};
  int64_t dataset = 0, ds_verified = 0, ds_correct = 0, ds_run = 0;
  for (const ReportEntry& e : r.entries) {
    ++counts[static_cast<int>(e.result.verdict)];
    if (e.dataset) {
      ++dataset;
      if (e.result.verdict == Verdict::kVerified)
        ++ds_verified;
      if (e.result.verdict != Verdict::kNotRun && e.result.verdict != Verdict::kError) {
        ++ds_run;
        if (!(e.result.counterexample && e.result.method == "clean"))
          ++ds_correct;
      }
    }
  }
  s["total"] = r.entries.size();
  for (int v = 0; v < 6; ++v)
    s[verdict_name(static_cast<Verdict>(v))] = counts[v];
  if (dataset > 0) {
    // Over all dataset samples of the run (not-run samples count as not verified).
    s["dataset_samples"] = dataset;
    s["verified_accuracy"] = static_cast<double>(ds_verified) / static_cast<double>(dataset);
    s["clean_accuracy"] =
        ds_run > 0 ? nlohmann::json(static_cast<double>(ds_correct) / static_cast<double>(ds_run))
                   : nlohmann::json(nullptr);
    s["clean_samples"] = ds_run;
  }
  s["time_s"] = r.time_s;
  s["complete"] = counts[static_cast<int>(Verdict::kNotRun)] == 0;
  s["interrupted"] = r.interrupted;
  s["global_timeout"] = r.global_timeout;
  return s;
}

nlohmann::json report_to_json(const Report& r) {
  nlohmann::json j;
  j["schema_version"] = kReportSchemaVersion;
  j["tool"] = {{"name", "nncert"}, {"version", NNCERT_VERSION}};
  j["started"] = r.started;
  j["command"] = r.command;
  j["options"] = r.options;
  nlohmann::json models = nlohmann::json::array();
  for (const ReportModel& m : r.models)
    models.push_back(model_json(m));
  j["models"] = models;
  nlohmann::json props = nlohmann::json::array();
  for (size_t i = 0; i < r.entries.size(); ++i)
    props.push_back(entry_json(r.entries[i], i));
  j["properties"] = props;
  j["summary"] = report_summary(r);
  return j;
}

Status write_json_atomic(const std::string& path, const nlohmann::json& j) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f)
      return Status(ErrorCode::kIoError, "cannot write '" + tmp + "'");
    f << j.dump(2) << "\n";
    if (!f.flush())
      return Status(ErrorCode::kIoError, "cannot write '" + tmp + "'");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    return Status(ErrorCode::kIoError, "cannot write '" + path + "': " + ec.message());
  return Status::ok();
}

std::string vnncomp_result(const PropertyResult& r) {
  switch (r.verdict) {
    case Verdict::kVerified:
      return "unsat\n";
    case Verdict::kFalsified: {
      if (!r.counterexample)
        return "unknown\n";
      std::ostringstream os;
      os.precision(17);
      os << "sat\n(";
      const Counterexample& ce = *r.counterexample;
      bool first = true;
      for (size_t i = 0; i < ce.x.size(); ++i) {
        os << (first ? "(" : "\n (") << "X_" << i << " " << ce.x[i] << ")";
        first = false;
      }
      for (size_t i = 0; i < ce.y.size(); ++i)
        os << "\n (Y_" << i << " " << ce.y[i] << ")";
      os << ")\n";
      return os.str();
    }
    case Verdict::kTimeout:
      return "timeout\n";
    case Verdict::kError:
      return "error\n";
    case Verdict::kUnknown:
    case Verdict::kNotRun:
      return "unknown\n";
  }
  return "unknown\n";
}

Expected<std::string> file_sha256(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return Status(ErrorCode::kIoError, "cannot open '" + path + "'");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx);
    return Status(ErrorCode::kInternal, "SHA-256 is not available");
  }
  std::vector<char> buf(1 << 16);
  while (f) {
    f.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (f.gcount() > 0)
      EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(f.gcount()));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  std::string hex;
  char b[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(b, sizeof b, "%02x", md[i]);
    hex += b;
  }
  return hex;
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace nncert::cli
