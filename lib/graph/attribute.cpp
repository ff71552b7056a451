#include "graph/attribute.h"

#include <cmath>
#include <limits>

namespace nncert {

namespace {
// A float attribute read as an int: truncated, clamped to the int64 range (the cast itself is
// undefined outside it); NaN gives the default.
int64_t to_int(double v, int64_t def) {
  if (std::isnan(v))
    return def;
  if (v >= 9.2233720368547758e18)
    return std::numeric_limits<int64_t>::max();
  if (v <= -9.2233720368547758e18)
    return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}
}  // namespace

int64_t Attributes::get_int(const std::string& name, int64_t def) const {
  auto it = values_.find(name);
  if (it == values_.end())
    return def;
  if (auto* v = std::get_if<int64_t>(&it->second))
    return *v;
  if (auto* v = std::get_if<double>(&it->second))
    return to_int(*v, def);
  return def;
}

double Attributes::get_float(const std::string& name, double def) const {
  auto it = values_.find(name);
  if (it == values_.end())
    return def;
  if (auto* v = std::get_if<double>(&it->second))
    return *v;
  if (auto* v = std::get_if<int64_t>(&it->second))
    return static_cast<double>(*v);
  return def;
}

std::string Attributes::get_string(const std::string& name, const std::string& def) const {
  auto it = values_.find(name);
  if (it == values_.end())
    return def;
  if (auto* v = std::get_if<std::string>(&it->second))
    return *v;
  return def;
}

std::vector<int64_t> Attributes::get_ints(const std::string& name, std::vector<int64_t> def) const {
  auto it = values_.find(name);
  if (it == values_.end())
    return def;
  if (auto* v = std::get_if<std::vector<int64_t>>(&it->second))
    return *v;
  if (auto* v = std::get_if<int64_t>(&it->second))
    return {*v};
  return def;
}

std::vector<double> Attributes::get_floats(const std::string& name, std::vector<double> def) const {
  auto it = values_.find(name);
  if (it == values_.end())
    return def;
  if (auto* v = std::get_if<std::vector<double>>(&it->second))
    return *v;
  if (auto* v = std::get_if<double>(&it->second))
    return {*v};
  return def;
}

std::optional<Tensor> Attributes::get_tensor(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end())
    return std::nullopt;
  if (auto* v = std::get_if<Tensor>(&it->second))
    return *v;
  return std::nullopt;
}

}  // namespace nncert
