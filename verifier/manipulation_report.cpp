#include "verifier/manipulation_report.h"

#include <map>

#include "nncert_version.h"

namespace nncert::cli {

namespace {

constexpr ManipulationAnswer kAnswers[] = {ManipulationAnswer::kVerifiedContinuous,
                                           ManipulationAnswer::kVerifiedGridOnly,
                                           ManipulationAnswer::kFalsified,
                                           ManipulationAnswer::kUnknown,
                                           ManipulationAnswer::kError};

nlohmann::json entry_json(const ManipulationEntry& e, size_t id) {
  const ManipulationCheckResult& r = e.result;
  const Manipulation& m = e.manipulation;
  nlohmann::json j;
  j["id"] = id;
  j["sample"] = e.sample;
  j["label"] = e.label;
  j["family"] = e.family;
  nlohmann::json params = nlohmann::json::array();
  for (size_t k = 0; k < m.parameters.size(); ++k)
    params.push_back({{"name", m.parameters[k]},
                      {"lo", m.theta_lo[k]},
                      {"hi", m.theta_hi[k]},
                      {"cells", k < r.grid.size() ? r.grid[k] : 0}});
  j["parameters"] = params;
  if (!m.pixels.empty())
    j["pixels"] = m.pixels;
  if (!m.line.empty())
    j["line"] = m.line;
  j["answer"] = manipulation_answer_name(r.answer);
  j["guarantee"] = manipulation_guarantee(r.answer);
  if (!r.message.empty())
    j["message"] = r.message;
  if (r.answer == ManipulationAnswer::kError && r.error != ErrorCode::kOk)
    j["error_kind"] = error_code_name(r.error);
  if (!r.region.empty())
    j["region"] = r.region;
  j["cells"] = {{"total", r.cells},
                {"certified", r.cells_certified},
                {"grid_only", r.cells_grid_only},
                {"open", r.cells_open}};
  j["grid_points"] = {{"total", r.grid_points}, {"checked", r.grid_points_checked}};
  j["bound_calls"] = r.bound_calls;
  j["blocks_certified"] = r.blocks_certified;
  j["domains"] = r.domains;
  j["grid_only_cells"] = r.grid_only_cells;
  j["time_s"] = r.time_s;
  nlohmann::json mt = nlohmann::json::object();
  for (const auto& [k, v] : r.method_times)
    mt[k] = v;
  j["method_times"] = mt;
  if (r.counterexample) {
    const ManipulationCounterexample& ce = *r.counterexample;
    nlohmann::json c = {{"theta", json_numbers(ce.theta)},
                        {"predicted", ce.predicted},
                        {"found_by", ce.found_by},
                        {"on_grid", ce.on_grid},
                        {"input", json_numbers(ce.x)},
                        {"output", json_numbers(ce.y)}};
    if (!e.image.pgm.empty() || !e.image.png.empty()) {
      c["files"] = {{"pgm", e.image.pgm}, {"png", e.image.png}};
      c["quantized_predicted"] = e.image.quantized_predicted;
      c["quantized_adversarial"] = e.image.quantized_adversarial;
    }
    j["counterexample"] = c;
  }
  return j;
}

nlohmann::json counts(const std::vector<const ManipulationEntry*>& es) {
  nlohmann::json c = nlohmann::json::object();
  double t = 0;
  for (ManipulationAnswer a : kAnswers)
    c[manipulation_answer_name(a)] = 0;
  for (const ManipulationEntry* e : es) {
    c[manipulation_answer_name(e->result.answer)] =
        c[manipulation_answer_name(e->result.answer)].get<int64_t>() + 1;
    t += e->result.time_s;
  }
  c["total"] = es.size();
  c["time_s"] = t;
  return c;
}

}  // namespace

nlohmann::json manipulation_summary(const ManipulationReport& r) {
  std::vector<const ManipulationEntry*> all;
  std::map<std::string, std::vector<const ManipulationEntry*>> by_family;
  for (const ManipulationEntry& e : r.entries) {
    all.push_back(&e);
    by_family[e.family].push_back(&e);
  }
  nlohmann::json s = counts(all);
  nlohmann::json fam = nlohmann::json::object();
  for (const auto& [f, es] : by_family)
    fam[f] = counts(es);
  s["families"] = fam;
  s["planned"] = r.planned;
  s["complete"] = static_cast<int64_t>(r.entries.size()) == r.planned;
  s["interrupted"] = r.interrupted;
  s["time_s"] = r.time_s;
  return s;
}

nlohmann::json manipulation_report_json(const ManipulationReport& r) {
  nlohmann::json j;
  j["schema_version"] = kManipulationSchemaVersion;
  j["kind"] = "manipulation";
  j["tool"] = {{"name", "nncert"}, {"version", NNCERT_VERSION}};
  j["started"] = r.started;
  j["command"] = "manipulate";
  j["options"] = r.options;
  j["model"] = model_json(r.model);
  nlohmann::json checks = nlohmann::json::array();
  for (size_t i = 0; i < r.entries.size(); ++i)
    checks.push_back(entry_json(r.entries[i], i));
  j["checks"] = checks;
  j["summary"] = manipulation_summary(r);
  return j;
}

}  // namespace nncert::cli
