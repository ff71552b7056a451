// Stage 2 of the VNNLIB reader: the asserts are ANDed, the product of their disjunctive normal
// forms is enumerated, and each conjunction becomes an unsafe term of the input region its input
// constraints describe; conjunctions with equal regions share one PropertyCase (as VNN-COMP's
// reader merges equal boxes).
//
// Asserts with a single conjunction (the common case: one bound per assert) are folded into a
// common box once; only the asserts with several conjunctions are multiplied out, and a region
// is keyed by what its conjunction changes in the common box, so a 3072-input file with a
// 9-way disjunction costs 9 small keys, not 9 copies of the box.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_map>
#include <utility>

#include "frontends/vnnlib/vnnlib_internal.h"

namespace nncert::vnnlib_detail {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Bound {
  int64_t var = 0;
  double lo = -kInf, hi = kInf;
};

// An input region: the bounds that differ from the common box (sorted by variable) and the
// multi-variable input atoms (G rows), in file order.
struct Region {
  std::vector<Bound> bounds;
  std::vector<uint32_t> rows;
};

struct Group {
  Region region;
  std::vector<std::vector<uint32_t>> terms;  // the output atoms of each unsafe term
};

uint64_t bits(double v) {
  v = v == 0 ? 0.0 : v;  // -0.0 == 0.0: the same region
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

void mix(uint64_t* h, uint64_t v) {
  *h ^= v + 0x9e3779b97f4a7c15ULL + (*h << 6) + (*h >> 2);
}

class Builder {
 public:
  Builder(const ParsedFile& file,
          std::string_view text,
          std::string name,
          const VnnlibOptions& options)
      : file_(file),
        text_(text),
        options_(options),
        n_(static_cast<int64_t>(file.input_decl.size())),
        m_(static_cast<int64_t>(file.output_decl.size())) {
    property_.name = std::move(name);
  }

  Expected<Property> run() {
    if (n_ == 0)
      return error(0, "no input is declared: expected (declare-const X_0 Real) ...");
    if (m_ == 0)
      return error(0, "no output is declared: expected (declare-const Y_0 Real) ...");
    lo_.assign(n_, -kInf);
    hi_.assign(n_, kInf);
    NNCERT_RETURN_IF_ERROR(fold_common());
    NNCERT_RETURN_IF_ERROR(enumerate());
    NNCERT_RETURN_IF_ERROR(materialise());
    property_.num_inputs = n_;
    property_.num_outputs = m_;
    if (Status st = property_.validate(); !st.is_ok())
      return Status(ErrorCode::kInternal,
                    "VNNLIB reader built an invalid property: " + st.message());
    return std::move(property_);
  }

 private:
  Status error(size_t offset,
               const std::string& message,
               ErrorCode code = ErrorCode::kInvalidArgument) const {
    return error_at(text_, offset, code, message);
  }

  const Atom& atom(uint32_t id) const { return file_.atoms[id]; }
  // The bound an atom with one X term gives: c x <= r is x <= r / c (c > 0), x >= r / c (c < 0).
  // Strict bounds are read as non-strict: the region is the closure.
  void apply_bound(const Atom& a, double* lo, double* hi) const {
    const AtomTerm& t = file_.terms[a.begin];
    const double v = a.rhs / t.coeff;
    if (t.coeff > 0)
      *hi = std::min(*hi, v);
    else
      *lo = std::max(*lo, v);
  }

  // Asserts with one conjunction hold in every region: their bounds make the common box.
  Status fold_common() {
    for (const Assert& a : file_.asserts) {
      const Dnf& d = file_.conjunctions;
      if (a.size() == 0)
        return error(a.offset, "this assert is always false, so the unsafe set is empty");
      if (a.size() > 1) {
        multi_.push_back(&a);
        continue;
      }
      for (uint32_t k = d.starts[a.first]; k < d.starts[a.first + 1]; ++k) {
        const uint32_t id = d.atoms[k];
        const Atom& at = atom(id);
        if (at.output) {
          common_outs_.push_back(id);
        } else if (!at.is_bound()) {
          common_rows_.push_back(id);
        } else {
          const int64_t i = file_.terms[at.begin].var;
          apply_bound(at, &lo_[i], &hi_[i]);
          if (lo_[i] > hi_[i])
            return error(at.offset,
                         "this bound leaves X_" + std::to_string(i) + " the empty range [" +
                             format_number(lo_[i]) + ", " + format_number(hi_[i]) +
                             "], so the unsafe set is empty");
        }
      }
    }
    return Status::ok();
  }

  // Every combination of one conjunction per multi-conjunction assert (the last varies fastest,
  // as VNN-COMP's reader orders them), grouped by input region.
  Status enumerate() {
    int64_t total = 1;
    for (const Assert* a : multi_) {
      const auto k = static_cast<int64_t>(a->size());
      if (total > options_.max_terms / k)
        return error(a->offset,
                     "the asserts up to this one expand to more than " +
                         std::to_string(options_.max_terms) +
                         " conjunctions in disjunctive normal form (VnnlibOptions::max_terms)",
                     ErrorCode::kUnsupported);
      total *= k;
    }
    std::vector<size_t> choice(multi_.size(), 0);
    std::vector<int32_t> mark(n_, -1);
    Region region;
    std::vector<uint32_t> outs;
    for (int64_t t = 0; t < total; ++t) {
      region.bounds.clear();
      region.rows.clear();
      outs.clear();
      for (size_t k = 0; k < multi_.size(); ++k) {
        const Dnf& d = file_.conjunctions;
        const size_t conj = multi_[k]->first + choice[k];
        for (uint32_t j = d.starts[conj]; j < d.starts[conj + 1]; ++j) {
          const uint32_t id = d.atoms[j];
          const Atom& at = atom(id);
          if (at.output) {
            outs.push_back(id);
          } else if (!at.is_bound()) {
            region.rows.push_back(id);
          } else {
            const int64_t i = file_.terms[at.begin].var;
            if (mark[i] < 0) {
              mark[i] = static_cast<int32_t>(region.bounds.size());
              region.bounds.push_back({i, lo_[i], hi_[i]});
            }
            Bound& b = region.bounds[mark[i]];
            apply_bound(at, &b.lo, &b.hi);
          }
        }
      }
      bool feasible = true;
      for (const Bound& b : region.bounds) {
        mark[b.var] = -1;
        feasible = feasible && b.lo <= b.hi;
      }
      if (feasible)
        add_term(&region, &outs);
      for (size_t k = multi_.size(); k-- > 0;) {
        if (++choice[k] < multi_[k]->size())
          break;
        choice[k] = 0;
      }
    }
    if (groups_.empty())
      return error(multi_.back()->offset,
                   "every conjunction of the disjunctions gives some input an empty range, so the "
                   "unsafe set is empty");
    return Status::ok();
  }

  bool same_row(uint32_t a, uint32_t b) const {
    const Atom& x = atom(a);
    const Atom& y = atom(b);
    if (x.rhs != y.rhs || x.end - x.begin != y.end - y.begin)
      return false;
    for (uint32_t k = 0; k < x.end - x.begin; ++k)
      if (file_.terms[x.begin + k].var != file_.terms[y.begin + k].var ||
          file_.terms[x.begin + k].coeff != file_.terms[y.begin + k].coeff)
        return false;
    return true;
  }
  bool same_region(const Region& a, const Region& b) const {
    if (a.bounds.size() != b.bounds.size() || a.rows.size() != b.rows.size())
      return false;
    for (size_t k = 0; k < a.bounds.size(); ++k)
      if (a.bounds[k].var != b.bounds[k].var || a.bounds[k].lo != b.bounds[k].lo ||
          a.bounds[k].hi != b.bounds[k].hi)
        return false;
    for (size_t k = 0; k < a.rows.size(); ++k)
      if (!same_row(a.rows[k], b.rows[k]))
        return false;
    return true;
  }

  void add_term(Region* region, std::vector<uint32_t>* outs) {
    std::erase_if(region->bounds,
                  [&](const Bound& b) { return b.lo == lo_[b.var] && b.hi == hi_[b.var]; });
    std::sort(region->bounds.begin(), region->bounds.end(), [](const Bound& x, const Bound& y) {
      return x.var < y.var;
    });
    region->rows.insert(region->rows.end(), common_rows_.begin(), common_rows_.end());
    std::sort(region->rows.begin(), region->rows.end());
    outs->insert(outs->end(), common_outs_.begin(), common_outs_.end());
    std::sort(outs->begin(), outs->end());

    uint64_t h = region->bounds.size();
    for (const Bound& b : region->bounds) {
      mix(&h, static_cast<uint64_t>(b.var));
      mix(&h, bits(b.lo));
      mix(&h, bits(b.hi));
    }
    for (uint32_t id : region->rows) {
      const Atom& a = atom(id);
      mix(&h, bits(a.rhs));
      for (uint32_t k = a.begin; k < a.end; ++k) {
        mix(&h, static_cast<uint64_t>(file_.terms[k].var));
        mix(&h, bits(file_.terms[k].coeff));
      }
    }
    const auto [first, last] = index_.equal_range(h);
    for (auto it = first; it != last; ++it)
      if (same_region(groups_[it->second].region, *region)) {
        groups_[it->second].terms.push_back(*outs);
        return;
      }
    index_.emplace(h, groups_.size());
    groups_.push_back({*region, {*outs}});
  }

  Status materialise() {
    int64_t values = 0;
    const size_t where = multi_.empty() ? 0 : multi_.back()->offset;
    for (size_t g = 0; g < groups_.size(); ++g) {
      const Group& group = groups_[g];
      values += 2 * n_ + static_cast<int64_t>(group.region.rows.size()) * (n_ + 1);
      for (const auto& term : group.terms)
        values += static_cast<int64_t>(term.size()) * (m_ + 1);
      if (values > options_.max_values)
        return error(where,
                     "the property would hold more than " + std::to_string(options_.max_values) +
                         " numbers (VnnlibOptions::max_values)",
                     ErrorCode::kUnsupported);
      std::vector<double> lo = lo_, hi = hi_;
      for (const Bound& b : group.region.bounds) {
        lo[b.var] = b.lo;
        hi[b.var] = b.hi;
      }
      for (int64_t i = 0; i < n_; ++i)
        if (!std::isfinite(lo[i]) || !std::isfinite(hi[i])) {
          const std::string side = !std::isfinite(lo[i]) ? "finite lower" : "finite upper";
          std::string msg = "X_" + std::to_string(i) + " (declared here) has no " + side + " bound";
          if (groups_.size() > 1)
            msg +=
                " in input region " + std::to_string(g) + " of " + std::to_string(groups_.size());
          return error(file_.input_decl[i], msg);
        }
      PropertyCase c;
      c.input = Perturbation::box(std::move(lo), std::move(hi));
      for (uint32_t id : group.region.rows) {
        const Atom& a = atom(id);
        std::vector<double> row(n_, 0.0);
        for (uint32_t k = a.begin; k < a.end; ++k)
          row[file_.terms[k].var] = file_.terms[k].coeff;
        c.input.constraints.g.push_back(std::move(row));
        c.input.constraints.h.push_back(a.rhs);
      }
      for (const auto& term : group.terms) {
        UnsafeTerm u;
        for (uint32_t id : term) {
          const Atom& a = atom(id);
          OutputConstraint oc;
          oc.coeffs.assign(m_, 0.0);
          for (uint32_t k = a.begin; k < a.end; ++k)
            oc.coeffs[file_.terms[k].var] = file_.terms[k].coeff;
          oc.rhs = a.rhs;
          oc.strict = a.strict;
          u.all.push_back(std::move(oc));
        }
        c.unsafe.push_back(std::move(u));
      }
      property_.cases.push_back(std::move(c));
    }
    return Status::ok();
  }

  const ParsedFile& file_;
  std::string_view text_;
  const VnnlibOptions& options_;
  const int64_t n_, m_;
  Property property_;
  std::vector<double> lo_, hi_;  // the common box
  std::vector<uint32_t> common_rows_, common_outs_;
  std::vector<const Assert*> multi_;  // asserts with several conjunctions
  std::vector<Group> groups_;
  std::unordered_multimap<uint64_t, size_t> index_;  // region hash -> group
};

}  // namespace

Expected<Property> build_property(const ParsedFile& file,
                                  std::string_view text,
                                  std::string name,
                                  const VnnlibOptions& options) {
  return Builder(file, text, std::move(name), options).run();
}

}  // namespace nncert::vnnlib_detail
