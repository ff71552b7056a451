// JSON: {"samples": [s0, s1, ...], "labels": [l0, l1, ...]} or [{"x": s0, "label": l0}, ...],
// each sample a (possibly nested) array of numbers; nesting gives the per-sample shape, which
// every sample must share. nlohmann/json stays inside this file; its exceptions end here.
#include <nlohmann/json.hpp>

#include "frontends/dataset/dataset_internal.h"

namespace nncert::dataset {

namespace {

using nlohmann::json;

// The shape of a nested array (descending into first elements).
Shape nested_shape(const json& j) {
  Shape s;
  const json* p = &j;
  while (p->is_array()) {
    s.push_back(static_cast<int64_t>(p->size()));
    if (p->empty())
      break;
    p = &(*p)[0];
  }
  return s;
}

// Appends the numbers of j (of shape s from dimension d on) to out; `index` names the position
// for errors, e.g. "[3][5]".
Status flatten(const json& j,
               const Shape& s,
               size_t d,
               const std::string& index,
               const std::string& where,
               std::vector<double>& out) {
  if (d == s.size()) {
    if (!j.is_number())
      return {ErrorCode::kParseError,
              where + ": element " + (index.empty() ? "" : index + " ") + "is " +
                  (j.is_array() ? "an array (ragged nesting)" : "not a number") + ": " +
                  j.dump().substr(0, 40)};
    out.push_back(j.get<double>());
    return Status::ok();
  }
  if (!j.is_array() || static_cast<int64_t>(j.size()) != s[d])
    return {ErrorCode::kShapeMismatch,
            where + ": " + (index.empty() ? std::string("the sample") : "element " + index) +
                " is not an array of " + std::to_string(s[d]) + " (shape " + shape_to_string(s) +
                ")"};
  for (size_t i = 0; i < j.size(); ++i)
    NNCERT_RETURN_IF_ERROR(
        flatten(j[i], s, d + 1, index + "[" + std::to_string(i) + "]", where, out));
  return Status::ok();
}

Status add_sample(const json& x, const std::string& where, Table& t) {
  if (!x.is_array())
    return {ErrorCode::kParseError, where + ": a sample must be an array of numbers"};
  if (t.n == 0)
    t.sample_shape = nested_shape(x);
  NNCERT_RETURN_IF_ERROR(flatten(x, t.sample_shape, 0, "", where, t.values));
  ++t.n;
  return Status::ok();
}

Status add_label(const json& l, const std::string& where, Table& t) {
  int64_t v = 0;
  if (l.is_number_integer()) {
    v = l.get<int64_t>();
  } else if (!l.is_number() || !integral_label(l.get<double>(), v)) {
    return {ErrorCode::kParseError,
            where + ": label " + l.dump().substr(0, 40) + " is not an integer"};
  }
  t.labels.push_back(v);
  return Status::ok();
}

Expected<Table> from_json(const json& doc, const std::string& path) {
  Table t;
  t.has_labels = true;
  if (doc.is_object()) {
    if (!doc.contains("samples") || !doc.contains("labels") || !doc["samples"].is_array() ||
        !doc["labels"].is_array())
      return Status(ErrorCode::kParseError,
                    path + ": expected {\"samples\": [...], \"labels\": [...]}");
    const json& xs = doc["samples"];
    for (size_t i = 0; i < xs.size(); ++i)
      NNCERT_RETURN_IF_ERROR(add_sample(xs[i], path + ": sample " + std::to_string(i), t));
    const json& ls = doc["labels"];
    for (size_t i = 0; i < ls.size(); ++i)
      NNCERT_RETURN_IF_ERROR(add_label(ls[i], path + ": sample " + std::to_string(i), t));
  } else {
    for (size_t i = 0; i < doc.size(); ++i) {
      const std::string where = path + ": sample " + std::to_string(i);
      const json& e = doc[i];
      if (!e.is_object() || !e.contains("x") || !e.contains("label"))
        return Status(ErrorCode::kParseError,
                      where + ": expected an object {\"x\": [...], \"label\": n}");
      NNCERT_RETURN_IF_ERROR(add_sample(e["x"], where, t));
      NNCERT_RETURN_IF_ERROR(add_label(e["label"], where, t));
    }
  }
  if (t.n == 0)
    return Status(ErrorCode::kParseError, path + ": no samples");
  return t;
}

}  // namespace

Expected<Table> parse_json(const std::string& text, const std::string& path) {
  try {
    const json doc = json::parse(text);
    if (!doc.is_object() && !doc.is_array())
      return Status(ErrorCode::kParseError, path + ": expected a JSON object or array");
    return from_json(doc, path);
  } catch (const json::exception& e) {
    return Status(ErrorCode::kParseError, path + ": " + e.what());
  } catch (const std::bad_alloc&) {
    return Status(ErrorCode::kOutOfMemory, "out of memory reading '" + path + "'");
  }
}

}  // namespace nncert::dataset
