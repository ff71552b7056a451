#include "verifier/gate_report.h"

#include <cstdio>
#include <map>
#include <sstream>

#include <unistd.h>

namespace nncert::cli {

namespace {

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

std::string entry_check(const ReportEntry& e) {
  return e.source.contains("check") && e.source["check"].is_string()
             ? e.source["check"].get<std::string>()
             : "";
}

std::string xml_escape(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&apos;";
        break;
      default:
        // XML 1.0 forbids most control characters.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r')
          o += ' ';
        else
          o += c;
    }
  }
  return o;
}

std::string md_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '|')
      o += "\\|";
    else if (c == '\n')
      o += ' ';
    else
      o += c;
  }
  return o;
}

void add(std::vector<GateFinding>& out,
         const std::string& check,
         const std::string& req,
         const std::string& actual,
         bool ok) {
  out.push_back({check, req, actual, ok});
}

}  // namespace

GateOutcome evaluate_gate(const GateConfig& config,
                          const Report& report,
                          const nlohmann::json& baseline) {
  GateOutcome g;
  std::map<std::string, size_t> idx;
  for (const GateCheck& c : config.checks) {
    idx[c.name] = g.checks.size();
    CheckStats s;
    s.name = c.name;
    s.dataset = c.dataset.has_value();
    g.checks.push_back(s);
  }
  std::vector<int64_t> ran(g.checks.size(), 0);
  for (const ReportEntry& e : report.entries) {
    auto it = idx.find(entry_check(e));
    if (it == idx.end())
      continue;
    CheckStats& s = g.checks[it->second];
    ++s.total;
    s.time_s += e.result.time_s;
    switch (e.result.verdict) {
      case Verdict::kVerified:
        ++s.verified;
        break;
      case Verdict::kFalsified:
        ++s.falsified;
        if (e.result.method == "clean")
          ++s.misclassified;
        break;
      case Verdict::kUnknown:
        ++s.unknown;
        break;
      case Verdict::kTimeout:
        ++s.timeout;
        break;
      case Verdict::kError:
        ++s.error;
        break;
      case Verdict::kNotRun:
        ++s.not_run;
        break;
    }
    if (e.result.verdict != Verdict::kNotRun && e.result.verdict != Verdict::kError)
      ++ran[it->second];
  }
  for (size_t i = 0; i < g.checks.size(); ++i) {
    CheckStats& s = g.checks[i];
    s.verified_accuracy =
        s.total > 0 ? static_cast<double>(s.verified) / static_cast<double>(s.total) : 0;
    s.clean_accuracy =
        ran[i] > 0 ? static_cast<double>(ran[i] - s.misclassified) / static_cast<double>(ran[i])
                   : 0;
  }
  // ---- requirements
  for (size_t i = 0; i < config.checks.size(); ++i) {
    const GateRequirements& q = config.checks[i].require;
    const CheckStats& s = g.checks[i];
    const std::string& n = s.name;
    if (s.not_run > 0)
      add(g.requirements, n, "every property ran", std::to_string(s.not_run) + " not run", false);
    add(g.requirements,
        n,
        "errors <= " + std::to_string(q.max_errors),
        std::to_string(s.error),
        s.error <= q.max_errors);
    if (q.verified_accuracy)
      add(g.requirements,
          n,
          "verified_accuracy >= " + fmt(*q.verified_accuracy),
          fmt(s.verified_accuracy),
          s.verified_accuracy >= *q.verified_accuracy);
    if (q.clean_accuracy)
      add(g.requirements,
          n,
          "clean_accuracy >= " + fmt(*q.clean_accuracy),
          fmt(s.clean_accuracy),
          s.clean_accuracy >= *q.clean_accuracy);
    if (q.verified_fraction) {
      const double f =
          s.total > 0 ? static_cast<double>(s.verified) / static_cast<double>(s.total) : 0;
      add(g.requirements,
          n,
          "verified_fraction >= " + fmt(*q.verified_fraction),
          fmt(f),
          f >= *q.verified_fraction);
    }
    if (q.min_verified)
      add(g.requirements,
          n,
          "verified >= " + std::to_string(*q.min_verified),
          std::to_string(s.verified),
          s.verified >= *q.min_verified);
    if (q.max_falsified)
      add(g.requirements,
          n,
          "falsified <= " + std::to_string(*q.max_falsified),
          std::to_string(s.falsified),
          s.falsified <= *q.max_falsified);
    if (q.max_unknown) {
      const int64_t u = s.unknown + s.timeout + s.not_run;
      add(g.requirements,
          n,
          "unknown + timeout <= " + std::to_string(*q.max_unknown),
          std::to_string(u),
          u <= *q.max_unknown);
    }
  }
  // ---- regressions against the baseline
  if (baseline.is_object() && baseline.contains("properties")) {
    g.baseline_used = true;
    std::map<std::pair<std::string, std::string>, std::string> base;
    std::map<std::string, std::pair<int64_t, int64_t>> base_acc;  // check -> verified, total
    for (const auto& p : baseline["properties"]) {
      if (!p.is_object() || !p.contains("name") || !p.contains("verdict"))
        continue;
      std::string check;
      if (p.contains("source") && p["source"].is_object() && p["source"].contains("check") &&
          p["source"]["check"].is_string())
        check = p["source"]["check"].get<std::string>();
      const std::string verdict = p["verdict"].is_string() ? p["verdict"].get<std::string>() : "";
      base[{check, p["name"].is_string() ? p["name"].get<std::string>() : ""}] = verdict;
      auto& a = base_acc[check];
      ++a.second;
      if (verdict == "verified")
        ++a.first;
    }
    int64_t compared = 0, new_falsified = 0, lost = 0;
    for (const ReportEntry& e : report.entries) {
      const std::string check = entry_check(e);
      auto it = base.find({check, e.name});
      if (it == base.end())
        continue;
      ++compared;
      const std::string now = verdict_name(e.result.verdict);
      if (it->second != "verified" || now == "verified")
        continue;
      if (now == "falsified") {
        ++new_falsified;
        if (config.regression.no_new_falsified)
          add(g.regressions,
              check,
              "'" + e.name + "' (verified in the baseline) must not become falsified",
              "falsified",
              false);
      } else {
        ++lost;
        if (config.regression.no_lost_verified)
          add(g.regressions,
              check,
              "'" + e.name + "' (verified in the baseline) must stay verified",
              now,
              false);
      }
    }
    if (config.regression.max_verified_accuracy_drop)
      for (const CheckStats& s : g.checks) {
        if (!s.dataset)
          continue;
        auto it = base_acc.find(s.name);
        if (it == base_acc.end() || it->second.second == 0)
          continue;
        const double before =
            static_cast<double>(it->second.first) / static_cast<double>(it->second.second);
        add(g.regressions,
            s.name,
            "verified_accuracy drop <= " + fmt(*config.regression.max_verified_accuracy_drop) +
                " (baseline " + fmt(before) + ")",
            fmt(before - s.verified_accuracy),
            before - s.verified_accuracy <= *config.regression.max_verified_accuracy_drop);
      }
    add(g.regressions,
        "",
        "compared with the baseline: " + std::to_string(compared) + " properties",
        std::to_string(new_falsified) + " newly falsified, " + std::to_string(lost) +
            " no longer verified",
        true);
  }
  g.passed = !report.interrupted && !report.global_timeout;
  for (const auto& f : g.requirements)
    g.passed = g.passed && f.passed;
  for (const auto& f : g.regressions)
    g.passed = g.passed && f.passed;
  return g;
}

nlohmann::json gate_json(const GateConfig& config, const GateOutcome& o) {
  auto findings = [](const std::vector<GateFinding>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& f : v)
      a.push_back({{"check", f.check},
                   {"requirement", f.requirement},
                   {"actual", f.actual},
                   {"passed", f.passed}});
    return a;
  };
  nlohmann::json checks = nlohmann::json::array();
  for (const CheckStats& s : o.checks) {
    nlohmann::json c = {{"name", s.name},
                        {"total", s.total},
                        {"verified", s.verified},
                        {"falsified", s.falsified},
                        {"unknown", s.unknown},
                        {"timeout", s.timeout},
                        {"error", s.error},
                        {"not_run", s.not_run},
                        {"time_s", s.time_s}};
    if (s.dataset) {
      c["verified_accuracy"] = s.verified_accuracy;
      c["clean_accuracy"] = s.clean_accuracy;
      c["misclassified"] = s.misclassified;
    }
    checks.push_back(c);
  }
  return {{"name", config.name},
          {"config", config.path},
          {"passed", o.passed},
          {"baseline", o.baseline_used ? nlohmann::json(o.baseline_path) : nlohmann::json()},
          {"checks", checks},
          {"requirements", findings(o.requirements)},
          {"regressions", findings(o.regressions)}};
}

std::string gate_junit(const GateConfig& config, const GateOutcome& o, const Report& report) {
  char host[256] = "localhost";
  if (gethostname(host, sizeof host - 1) != 0)
    std::snprintf(host, sizeof host, "localhost");
  const std::string ts = report.started.empty() ? utc_now() : report.started;
  const std::string ts_local = ts.substr(0, 19);  // JUnit timestamps carry no zone
  std::ostringstream body;
  int64_t all_tests = 0, all_fail = 0, all_err = 0, all_skip = 0;
  double all_time = 0;
  int suite_id = 0;
  auto suite = [&](const std::string& name,
                   const std::vector<std::string>& cases,
                   int64_t fail,
                   int64_t err,
                   int64_t skip,
                   double time,
                   const std::vector<std::pair<std::string, std::string>>& props) {
    body << "  <testsuite name=\"" << xml_escape(name) << "\" id=\"" << suite_id++
         << "\" package=\"nncert\" hostname=\"" << xml_escape(host) << "\" timestamp=\"" << ts_local
         << "\" tests=\"" << cases.size() << "\" failures=\"" << fail << "\" errors=\"" << err
         << "\" skipped=\"" << skip << "\" time=\"" << fmt(time) << "\">\n    <properties>\n";
    for (const auto& [k, v] : props)
      body << "      <property name=\"" << xml_escape(k) << "\" value=\"" << xml_escape(v)
           << "\"/>\n";
    body << "    </properties>\n";
    for (const auto& c : cases)
      body << c;
    body << "    <system-out/>\n    <system-err/>\n  </testsuite>\n";
    all_tests += static_cast<int64_t>(cases.size());
    all_fail += fail;
    all_err += err;
    all_skip += skip;
    all_time += time;
  };
  auto testcase =
      [](const std::string& cls, const std::string& name, double time, const std::string& inner) {
        std::ostringstream t;
        t << "    <testcase name=\"" << xml_escape(name) << "\" classname=\"" << xml_escape(cls)
          << "\" time=\"" << fmt(time) << "\"";
        if (inner.empty())
          t << "/>\n";
        else
          t << ">\n" << inner << "    </testcase>\n";
        return t.str();
      };
  for (size_t ci = 0; ci < config.checks.size(); ++ci) {
    const GateCheck& check = config.checks[ci];
    std::vector<std::string> cases;
    int64_t fail = 0, err = 0, skip = 0;
    double time = 0;
    std::string sha;
    const std::string cls = "nncert." + check.name;
    for (const ReportEntry& e : report.entries) {
      if (entry_check(e) != check.name)
        continue;
      if (sha.empty() && e.model >= 0 && static_cast<size_t>(e.model) < report.models.size())
        sha = report.models[static_cast<size_t>(e.model)].sha256;
      const PropertyResult& r = e.result;
      time += r.time_s;
      std::string inner;
      const std::string how = r.method.empty() ? "" : " (" + r.method + ")";
      switch (r.verdict) {
        case Verdict::kVerified:
          break;
        case Verdict::kFalsified: {
          ++fail;
          std::string detail = r.method == "clean" ? "the unperturbed sample is misclassified"
                                                   : "counterexample found" + how;
          if (r.counterexample) {
            detail += "; outputs:";
            for (double y : r.counterexample->y)
              detail += " " + fmt(y);
          }
          inner = "      <failure message=\"falsified" + xml_escape(how) +
                  "\" type=\"falsified\">" + xml_escape(detail) + "</failure>\n";
          break;
        }
        case Verdict::kError:
          ++err;
          inner = "      <error message=\"" + xml_escape(r.message) + "\" type=\"error\"/>\n";
          break;
        default:
          ++skip;
          inner = "      <skipped message=\"" + std::string(verdict_name(r.verdict)) +
                  (r.message.empty() ? "" : ": " + xml_escape(r.message)) + "\"/>\n";
      }
      cases.push_back(testcase(cls, e.name, r.time_s, inner));
    }
    for (const GateFinding& f : o.requirements) {
      if (f.check != check.name)
        continue;
      std::string inner;
      if (!f.passed) {
        ++fail;
        inner = "      <failure message=\"requirement not met: " + xml_escape(f.requirement) +
                " (actual " + xml_escape(f.actual) + ")\" type=\"requirement\"/>\n";
      }
      cases.push_back(testcase(cls + ".requirements", f.requirement, 0, inner));
    }
    suite(check.name, cases, fail, err, skip, time, {{"model", check.model}, {"sha256", sha}});
  }
  if (o.baseline_used) {
    std::vector<std::string> cases;
    int64_t fail = 0;
    for (const GateFinding& f : o.regressions) {
      std::string inner;
      if (!f.passed) {
        ++fail;
        inner = "      <failure message=\"regression: " + xml_escape(f.requirement) + " (now " +
                xml_escape(f.actual) + ")\" type=\"regression\"/>\n";
      }
      cases.push_back(testcase(
          "nncert.regression" + (f.check.empty() ? "" : "." + f.check), f.requirement, 0, inner));
    }
    suite("regression vs baseline", cases, fail, 0, 0, 0, {{"baseline", o.baseline_path}});
  }
  std::ostringstream x;
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"nncert gate: "
    << xml_escape(config.name) << "\" tests=\"" << all_tests << "\" failures=\"" << all_fail
    << "\" errors=\"" << all_err << "\" skipped=\"" << all_skip << "\" time=\""
    << fmt(report.time_s > 0 ? report.time_s : all_time) << "\">\n"
    << body.str() << "</testsuites>\n";
  return x.str();
}

std::string gate_markdown(const GateConfig& config, const GateOutcome& o, const Report& report) {
  std::ostringstream m;
  m << "# nncert gate: " << md_escape(config.name) << " — " << (o.passed ? "PASSED ✅" : "FAILED ❌")
    << "\n\n";
  m << "| check | properties | verified | falsified | unknown | timeout | error | not run | "
       "verified acc. | clean acc. | time (s) |\n";
  m << "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const CheckStats& s : o.checks)
    m << "| " << md_escape(s.name) << " | " << s.total << " | " << s.verified << " | "
      << s.falsified << " | " << s.unknown << " | " << s.timeout << " | " << s.error << " | "
      << s.not_run << " | " << (s.dataset ? fmt(s.verified_accuracy) : "–") << " | "
      << (s.dataset ? fmt(s.clean_accuracy) : "–") << " | " << fmt(s.time_s) << " |\n";
  m << "\n## Requirements\n\n| check | requirement | actual | result |\n|---|---|---|---|\n";
  for (const GateFinding& f : o.requirements)
    m << "| " << md_escape(f.check) << " | " << md_escape(f.requirement) << " | "
      << md_escape(f.actual) << " | " << (f.passed ? "✅ pass" : "❌ fail") << " |\n";
  if (o.baseline_used) {
    m << "\n## Regressions against `" << md_escape(o.baseline_path) << "`\n\n";
    m << "| check | rule | now | result |\n|---|---|---|---|\n";
    for (const GateFinding& f : o.regressions)
      m << "| " << md_escape(f.check) << " | " << md_escape(f.requirement) << " | "
        << md_escape(f.actual) << " | " << (f.passed ? "✅" : "❌") << " |\n";
  }
  if (report.interrupted || report.global_timeout)
    m << "\n**The run stopped early (" << (report.interrupted ? "interrupted" : "global timeout")
      << "): properties not run count against the gate.**\n";
  m << "\nnncert report schema " << kReportSchemaVersion << ", " << fmt(report.time_s)
    << " s in all.\n";
  return m.str();
}

std::string gate_text(const GateConfig& config, const GateOutcome& o) {
  std::ostringstream t;
  t << "gate '" << config.name << "': " << (o.passed ? "PASSED" : "FAILED") << "\n";
  for (const CheckStats& s : o.checks) {
    t << "  " << s.name << ": " << s.verified << "/" << s.total << " verified, " << s.falsified
      << " falsified, " << (s.unknown + s.timeout) << " unknown/timeout, " << s.error << " error";
    if (s.dataset)
      t << "; verified accuracy " << fmt(s.verified_accuracy) << ", clean accuracy "
        << fmt(s.clean_accuracy);
    t << "\n";
    for (const GateFinding& f : o.requirements)
      if (f.check == s.name)
        t << "    [" << (f.passed ? "pass" : "FAIL") << "] " << f.requirement << " (actual "
          << f.actual << ")\n";
  }
  for (const GateFinding& f : o.regressions)
    t << "  [" << (f.passed ? "pass" : "FAIL")
      << "] regression: " << (f.check.empty() ? "" : f.check + ": ") << f.requirement << " ("
      << f.actual << ")\n";
  return t.str();
}

}  // namespace nncert::cli
