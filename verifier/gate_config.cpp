#include "verifier/gate_config.h"

#include <filesystem>
#include <fstream>
#include <set>

#include <yaml-cpp/yaml.h>

namespace nncert::cli {

namespace fs = std::filesystem;

namespace {

nlohmann::json yaml_to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Sequence: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& e : n)
        a.push_back(yaml_to_json(e));
      return a;
    }
    case YAML::NodeType::Map: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& kv : n)
        o[kv.first.as<std::string>()] = yaml_to_json(kv.second);
      return o;
    }
    case YAML::NodeType::Scalar: {
      const std::string s = n.Scalar();
      if (n.Tag() == "!")  // quoted: a string
        return s;
      if (s == "true" || s == "True" || s == "yes")
        return true;
      if (s == "false" || s == "False" || s == "no")
        return false;
      if (s == "null" || s == "~")
        return nullptr;
      // Numbers only in decimal / scientific notation ("inf" or "nan" stay strings).
      if (s.find_first_not_of("0123456789+-.eE") != std::string::npos ||
          s.find_first_of("0123456789") == std::string::npos)
        return s;
      try {
        size_t used = 0;
        const long long i = std::stoll(s, &used);
        if (used == s.size())
          return static_cast<int64_t>(i);
      } catch (const std::exception&) {
      }
      try {
        size_t used = 0;
        const double d = std::stod(s, &used);
        if (used == s.size())
          return d;
      } catch (const std::exception&) {
      }
      return s;
    }
  }
  return nullptr;
}

struct Reader {
  std::string file;
  fs::path dir;

  Status error(const std::string& key, const std::string& what) const {
    return Status(ErrorCode::kParseError, file + ": " + key + ": " + what);
  }
  Status keys(const nlohmann::json& o,
              const std::string& key,
              std::set<std::string> allowed) const {
    if (!o.is_object())
      return error(key, "expected a mapping");
    for (auto it = o.begin(); it != o.end(); ++it)
      if (!allowed.count(it.key()))
        return error(key.empty() ? it.key() : key + "." + it.key(), "unknown key");
    return Status::ok();
  }
  Status number(const nlohmann::json& o,
                const std::string& k,
                const std::string& key,
                double& out) const {
    if (!o.contains(k))
      return Status::ok();
    if (!o[k].is_number())
      return error(key + "." + k, "expected a number");
    out = o[k].get<double>();
    return Status::ok();
  }
  Status opt_number(const nlohmann::json& o,
                    const std::string& k,
                    const std::string& key,
                    std::optional<double>& out) const {
    if (!o.contains(k))
      return Status::ok();
    double v = 0;
    NNCERT_RETURN_IF_ERROR(number(o, k, key, v));
    out = v;
    return Status::ok();
  }
  Status opt_int(const nlohmann::json& o,
                 const std::string& k,
                 const std::string& key,
                 std::optional<int64_t>& out) const {
    if (!o.contains(k))
      return Status::ok();
    if (!o[k].is_number_integer() || o[k].get<int64_t>() < 0)
      return error(key + "." + k, "expected a non-negative integer");
    out = o[k].get<int64_t>();
    return Status::ok();
  }
  Status string(const nlohmann::json& o,
                const std::string& k,
                const std::string& key,
                std::string& out) const {
    if (!o.contains(k))
      return Status::ok();
    if (!o[k].is_string())
      return error(key + "." + k, "expected a string");
    out = o[k].get<std::string>();
    return Status::ok();
  }
  Status boolean(const nlohmann::json& o,
                 const std::string& k,
                 const std::string& key,
                 bool& out) const {
    if (!o.contains(k))
      return Status::ok();
    if (!o[k].is_boolean())
      return error(key + "." + k, "expected true or false");
    out = o[k].get<bool>();
    return Status::ok();
  }
  Status numbers(const nlohmann::json& o,
                 const std::string& k,
                 const std::string& key,
                 std::vector<double>& out) const {
    if (!o.contains(k))
      return Status::ok();
    const nlohmann::json& v = o[k];
    if (v.is_number()) {
      out = {v.get<double>()};
      return Status::ok();
    }
    if (!v.is_array())
      return error(key + "." + k, "expected a number or a list of numbers");
    out.clear();
    for (const auto& e : v) {
      if (!e.is_number())
        return error(key + "." + k, "expected a list of numbers");
      out.push_back(e.get<double>());
    }
    return Status::ok();
  }
  std::string resolve(const std::string& p) const {
    return p.empty() || fs::path(p).is_absolute() ? p : (dir / p).lexically_normal().string();
  }
};

Status fraction(const Reader& r, const std::string& key, const std::optional<double>& v) {
  if (v && !(*v >= 0 && *v <= 1))
    return r.error(key, "expected a fraction in [0, 1]");
  return Status::ok();
}

}  // namespace

Expected<nlohmann::json> read_yaml_or_json(const std::string& path) {
  std::ifstream f(path);
  if (!f)
    return Status(ErrorCode::kIoError, "cannot open '" + path + "'");
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".json") {
    try {
      return nlohmann::json::parse(f);
    } catch (const nlohmann::json::exception& e) {
      return Status(ErrorCode::kParseError, path + ": " + e.what());
    }
  }
  try {
    return yaml_to_json(YAML::LoadFile(path));
  } catch (const YAML::Exception& e) {
    return Status(ErrorCode::kParseError,
                  path + ":" + std::to_string(e.mark.line + 1) + ":" +
                      std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

Expected<GateConfig> load_gate_config(const std::string& path) {
  NNCERT_ASSIGN_OR_RETURN(nlohmann::json j, read_yaml_or_json(path));
  Reader r{path, fs::path(path).parent_path()};
  GateConfig c;
  c.path = path;
  NNCERT_RETURN_IF_ERROR(
      r.keys(j, "", {"version", "name", "baseline", "settings", "checks", "regression"}));
  if (j.contains("version") && !(j["version"].is_number_integer() && j["version"] == 1))
    return r.error("version", "only version 1 is known");
  NNCERT_RETURN_IF_ERROR(r.string(j, "name", "", c.name));
  if (c.name.empty())
    c.name = fs::path(path).stem().string();
  NNCERT_RETURN_IF_ERROR(r.string(j, "baseline", "", c.baseline));
  c.baseline = r.resolve(c.baseline);
  if (j.contains("settings")) {
    const auto& s = j["settings"];
    NNCERT_RETURN_IF_ERROR(r.keys(
        s, "settings", {"timeout", "global_timeout", "method", "threads", "alpha_iterations"}));
    NNCERT_RETURN_IF_ERROR(r.number(s, "timeout", "settings", c.timeout));
    NNCERT_RETURN_IF_ERROR(r.number(s, "global_timeout", "settings", c.global_timeout));
    NNCERT_RETURN_IF_ERROR(r.string(s, "method", "settings", c.method));
    double th = 0, ai = 20;
    NNCERT_RETURN_IF_ERROR(r.number(s, "threads", "settings", th));
    NNCERT_RETURN_IF_ERROR(r.number(s, "alpha_iterations", "settings", ai));
    c.threads = static_cast<int>(th);
    c.alpha_iterations = static_cast<int>(ai);
    if (c.timeout < 0 || c.global_timeout < 0 || th < 0 || ai < 0)
      return r.error("settings", "timeouts, threads and alpha_iterations must be >= 0");
  }
  if (j.contains("regression")) {
    const auto& g = j["regression"];
    NNCERT_RETURN_IF_ERROR(r.keys(
        g, "regression", {"no_new_falsified", "no_lost_verified", "max_verified_accuracy_drop"}));
    NNCERT_RETURN_IF_ERROR(
        r.boolean(g, "no_new_falsified", "regression", c.regression.no_new_falsified));
    NNCERT_RETURN_IF_ERROR(
        r.boolean(g, "no_lost_verified", "regression", c.regression.no_lost_verified));
    NNCERT_RETURN_IF_ERROR(r.opt_number(
        g, "max_verified_accuracy_drop", "regression", c.regression.max_verified_accuracy_drop));
    NNCERT_RETURN_IF_ERROR(fraction(
        r, "regression.max_verified_accuracy_drop", c.regression.max_verified_accuracy_drop));
  }
  if (!j.contains("checks") || !j["checks"].is_array() || j["checks"].empty())
    return r.error("checks", "expected a non-empty list of checks");
  std::set<std::string> names;
  for (size_t i = 0; i < j["checks"].size(); ++i) {
    const auto& cj = j["checks"][i];
    const std::string key = "checks[" + std::to_string(i) + "]";
    NNCERT_RETURN_IF_ERROR(
        r.keys(cj, key, {"name", "model", "properties", "dataset", "timeout", "require"}));
    GateCheck ch;
    NNCERT_RETURN_IF_ERROR(r.string(cj, "name", key, ch.name));
    if (ch.name.empty())
      ch.name = "check " + std::to_string(i);
    if (!names.insert(ch.name).second)
      return r.error(key + ".name", "'" + ch.name + "' is used twice");
    NNCERT_RETURN_IF_ERROR(r.string(cj, "model", key, ch.model));
    if (ch.model.empty())
      return r.error(key + ".model", "missing");
    ch.model = r.resolve(ch.model);
    if (cj.contains("timeout")) {
      double t = 0;
      NNCERT_RETURN_IF_ERROR(r.number(cj, "timeout", key, t));
      ch.timeout = t;
    }
    if (cj.contains("properties")) {
      const auto& pj = cj["properties"];
      if (!pj.is_array() || pj.empty())
        return r.error(key + ".properties", "expected a non-empty list of VNNLIB files");
      for (const auto& p : pj) {
        if (!p.is_string())
          return r.error(key + ".properties", "expected file names");
        ch.properties.push_back(r.resolve(p.get<std::string>()));
      }
    }
    if (cj.contains("dataset")) {
      const auto& dj = cj["dataset"];
      const std::string dk = key + ".dataset";
      NNCERT_RETURN_IF_ERROR(r.keys(dj,
                                    dk,
                                    {"path",
                                     "labels",
                                     "format",
                                     "eps",
                                     "norm",
                                     "mean",
                                     "std",
                                     "clip",
                                     "samples",
                                     "scale",
                                     "label_column"}));
      DatasetSpecOptions d;
      NNCERT_RETURN_IF_ERROR(r.string(dj, "path", dk, d.path));
      if (d.path.empty())
        return r.error(dk + ".path", "missing");
      d.path = r.resolve(d.path);
      NNCERT_RETURN_IF_ERROR(r.string(dj, "labels", dk, d.labels));
      d.labels = r.resolve(d.labels);
      NNCERT_RETURN_IF_ERROR(r.string(dj, "format", dk, d.format));
      if (!dj.contains("eps"))
        return r.error(dk + ".eps", "missing");
      NNCERT_RETURN_IF_ERROR(r.number(dj, "eps", dk, d.eps));
      if (dj.contains("norm") && dj["norm"].is_number_integer())
        d.norm = std::to_string(dj["norm"].get<int64_t>());
      else
        NNCERT_RETURN_IF_ERROR(r.string(dj, "norm", dk, d.norm));
      NNCERT_RETURN_IF_ERROR(r.numbers(dj, "mean", dk, d.mean));
      NNCERT_RETURN_IF_ERROR(r.numbers(dj, "std", dk, d.std));
      if (dj.contains("clip") && dj["clip"].is_boolean()) {
        d.no_clip = !dj["clip"].get<bool>();
      } else {
        NNCERT_RETURN_IF_ERROR(r.numbers(dj, "clip", dk, d.clip));
        if (!d.clip.empty() && d.clip.size() != 2)
          return r.error(dk + ".clip", "expected [lo, hi] or false");
      }
      if (dj.contains("samples") && dj["samples"].is_number_integer())
        d.samples = std::to_string(dj["samples"].get<int64_t>());
      else
        NNCERT_RETURN_IF_ERROR(r.string(dj, "samples", dk, d.samples));
      NNCERT_RETURN_IF_ERROR(r.number(dj, "scale", dk, d.scale));
      double lc = 0;
      NNCERT_RETURN_IF_ERROR(r.number(dj, "label_column", dk, lc));
      d.label_column = static_cast<int64_t>(lc);
      ch.dataset = d;
    }
    if (ch.properties.empty() == !ch.dataset.has_value())
      return r.error(key, "give exactly one of 'properties' and 'dataset'");
    if (cj.contains("require")) {
      const auto& q = cj["require"];
      const std::string qk = key + ".require";
      NNCERT_RETURN_IF_ERROR(r.keys(q,
                                    qk,
                                    {"verified_accuracy",
                                     "clean_accuracy",
                                     "verified_fraction",
                                     "min_verified",
                                     "max_falsified",
                                     "max_unknown",
                                     "max_errors"}));
      GateRequirements& rq = ch.require;
      NNCERT_RETURN_IF_ERROR(r.opt_number(q, "verified_accuracy", qk, rq.verified_accuracy));
      NNCERT_RETURN_IF_ERROR(r.opt_number(q, "clean_accuracy", qk, rq.clean_accuracy));
      NNCERT_RETURN_IF_ERROR(r.opt_number(q, "verified_fraction", qk, rq.verified_fraction));
      NNCERT_RETURN_IF_ERROR(fraction(r, qk + ".verified_accuracy", rq.verified_accuracy));
      NNCERT_RETURN_IF_ERROR(fraction(r, qk + ".clean_accuracy", rq.clean_accuracy));
      NNCERT_RETURN_IF_ERROR(fraction(r, qk + ".verified_fraction", rq.verified_fraction));
      NNCERT_RETURN_IF_ERROR(r.opt_int(q, "min_verified", qk, rq.min_verified));
      NNCERT_RETURN_IF_ERROR(r.opt_int(q, "max_falsified", qk, rq.max_falsified));
      NNCERT_RETURN_IF_ERROR(r.opt_int(q, "max_unknown", qk, rq.max_unknown));
      std::optional<int64_t> me;
      NNCERT_RETURN_IF_ERROR(r.opt_int(q, "max_errors", qk, me));
      if (me)
        rq.max_errors = *me;
      if (!ch.dataset && (rq.verified_accuracy || rq.clean_accuracy))
        return r.error(qk, "verified_accuracy and clean_accuracy need a dataset check");
    }
    c.checks.push_back(std::move(ch));
  }
  return c;
}

}  // namespace nncert::cli
