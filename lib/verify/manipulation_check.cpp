#include "verify/manipulation_check.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <unordered_set>

#include "runtime/executor.h"
#include "spec/robustness.h"

namespace nncert {

const char* manipulation_answer_name(ManipulationAnswer a) {
  switch (a) {
    case ManipulationAnswer::kFalsified:
      return "falsified";
    case ManipulationAnswer::kVerifiedContinuous:
      return "verified-continuous";
    case ManipulationAnswer::kVerifiedGridOnly:
      return "verified-grid-only";
    case ManipulationAnswer::kUnknown:
      return "unknown";
    case ManipulationAnswer::kError:
      return "error";
    case ManipulationAnswer::kNotRun:
      return "not_run";
  }
  return "unknown";
}

const char* manipulation_guarantee(ManipulationAnswer a) {
  switch (a) {
    case ManipulationAnswer::kFalsified:
      return "counterexample";
    case ManipulationAnswer::kVerifiedContinuous:
      return "continuous";
    case ManipulationAnswer::kVerifiedGridOnly:
      return "grid";
    default:
      return "none";
  }
}

Status ManipulationCheckOptions::validate() const {
  for (int64_t g : grid)
    if (g < 1)
      return {ErrorCode::kInvalidArgument, "grid sizes must be >= 1"};
  if (!(timeout_s >= 0) || !(cell.timeout_s >= 0))
    return {ErrorCode::kInvalidArgument, "timeouts must be >= 0"};
  if (block_bab_domains < -1)
    return {ErrorCode::kInvalidArgument, "block BaB domains must be >= 0 (or -1: automatic)"};
  return Status::ok();
}

double grid_coordinate(const Manipulation& m, size_t j, int64_t cells, int64_t k) {
  if (k >= cells)
    return m.theta_hi[j];
  const double lo = m.theta_lo[j], hi = m.theta_hi[j];
  return lo + (hi - lo) * static_cast<double>(k) / static_cast<double>(cells);
}

namespace {

using Clock = std::chrono::steady_clock;
using Region = ManipulationCheckOptions::Region;

constexpr size_t kMaxDims = 24;

// Cells [lo_j, hi_j) per dimension.
struct Block {
  std::vector<int64_t> lo, hi;
  int64_t cells() const {
    int64_t c = 1;
    for (size_t j = 0; j < lo.size(); ++j)
      c *= hi[j] - lo[j];
    return c;
  }
};

// a * b, or -1 past 2^62.
int64_t mul_capped(int64_t a, int64_t b) {
  if (a < 0 || b < 0 || (b != 0 && a > (int64_t{1} << 62) / b))
    return -1;
  return a * b;
}

class Checker {
 public:
  Checker(const AttackModel& model,
          const Manipulation& m,
          int64_t label,
          const ManipulationCheckOptions& o,
          ManipulationCheckResult& res)
      : model_(model), m_(m), label_(label), o_(o), res_(res), t0_(Clock::now()) {
    deadline_ = o.timeout_s > 0 ? t0_ + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(o.timeout_s))
                                : Clock::time_point::max();
  }

  void run();

 private:
  bool stop() const { return (o_.should_stop && o_.should_stop()) || Clock::now() >= deadline_; }
  void fail(const Status& st) {
    res_.answer = ManipulationAnswer::kError;
    res_.error = st.code();
    res_.message = st.message();
  }
  void note(const std::string& msg) {
    if (notes_.size() < 4 && std::find(notes_.begin(), notes_.end(), msg) == notes_.end())
      notes_.push_back(msg);
  }
  void add_time(const std::string& what, double s) {
    for (auto& [k, v] : res_.method_times)
      if (k == what) {
        v += s;
        return;
      }
    res_.method_times.emplace_back(what, s);
  }
  void box_of(const Block& b, std::vector<double>& tl, std::vector<double>& th) const {
    const size_t d = b.lo.size();
    tl.resize(d);
    th.resize(d);
    for (size_t j = 0; j < d; ++j) {
      tl[j] = grid_coordinate(m_, j, grid_[j], b.lo[j]);
      th[j] = grid_coordinate(m_, j, grid_[j], b.hi[j]);
    }
  }
  Property property(const Perturbation& region, int64_t n_in) const {
    Property p;
    p.name = m_.family;
    p.num_inputs = n_in;
    p.num_outputs = model_.num_outputs();
    p.label = label_;
    p.cases.push_back({region, class_change_terms(label_, model_.num_outputs())});
    return p;
  }
  Status setup();
  // Maps theta to its image and re-checks it on the model; true when it is a counterexample.
  Expected<bool> try_theta(const std::vector<double>& theta,
                           const std::string& found_by,
                           bool on_grid);
  // Tries the grid points nearest to theta; true when one of them is a counterexample.
  Expected<bool> snap_to_grid(const std::vector<double>& theta, const std::string& found_by);
  // Runs verify_property on the block's region with `vo`. Returns its verdict.
  Verdict bound_block(const Block& b, const VerifyOptions& vo);
  // Evaluates the cell's corners; false when stopped or a counterexample was found.
  Expected<bool> enumerate_corners(const Block& cell);
  bool has(Method mt) const;  // the method list has mt
  // The method lists of multi-cell blocks and of single cells.
  void plan(VerifyOptions& block_opts, VerifyOptions& cell_opts) const;
  // 2. The attack over all of Theta; true when it found a counterexample.
  Expected<bool> attack_all();
  // 3-5. Blocks depth-first from all of Theta, bisected when open; single cells get the
  // pipeline, then the grid fallback.
  Status certify(const VerifyOptions& block_opts, const VerifyOptions& cell_opts);
  Status work();

  const AttackModel& model_;
  const Manipulation& m_;
  const int64_t label_;
  const ManipulationCheckOptions& o_;
  ManipulationCheckResult& res_;
  Clock::time_point t0_, deadline_;
  std::vector<int64_t> grid_;
  std::unique_ptr<AttackModel> theta_model_;
  Property image_property_;  // the hull of all of Theta: where every image of the family lies
  std::unique_ptr<Executor> exec_;
  Shape in_shape_;
  std::unordered_set<int64_t> seen_points_;
  std::vector<std::string> notes_;
  bool stopped_ = false;
  Region region_ = Region::kTheta;
  bool box_exact_ = false;  // the hull of a theta box is exactly its images
};

Status Checker::setup() {
  NNCERT_RETURN_IF_ERROR(m_.validate());
  NNCERT_RETURN_IF_ERROR(o_.validate());
  if (m_.size() != model_.num_inputs())
    return {ErrorCode::kShapeMismatch,
            "the family's images have " + std::to_string(m_.size()) + " values, the model takes " +
                std::to_string(model_.num_inputs())};
  if (label_ < 0 || label_ >= model_.num_outputs() || model_.num_outputs() < 2)
    return {ErrorCode::kInvalidArgument,
            "label " + std::to_string(label_) + " is not a class of a model with " +
                std::to_string(model_.num_outputs()) + " outputs"};
  const auto d = static_cast<size_t>(m_.dims());
  if (d > kMaxDims)
    return {ErrorCode::kInvalidArgument,
            "the family has " + std::to_string(d) + " parameters; the grid check takes at most " +
                std::to_string(kMaxDims) + " (a cell has 2^d corners)"};
  if (o_.grid.empty())
    grid_ = m_.default_grid;
  else if (o_.grid.size() == 1)
    grid_.assign(d, o_.grid[0]);
  else if (o_.grid.size() == d)
    grid_ = o_.grid;
  else
    return {ErrorCode::kInvalidArgument,
            "the grid gives " + std::to_string(o_.grid.size()) + " sizes for " + std::to_string(d) +
                " parameters"};
  box_exact_ = m_.hull_is_exact();
  region_ = o_.region;
  res_.region = region_ == Region::kBox ? "box" : "theta";
  res_.grid = grid_;
  res_.cells = 1;
  res_.grid_points = 1;
  for (int64_t g : grid_) {
    res_.cells = mul_capped(res_.cells, g);
    res_.grid_points = mul_capped(res_.grid_points, g + 1);
  }
  if (res_.cells < 0 || res_.grid_points < 0)
    return {ErrorCode::kInvalidArgument, "the grid has more than 2^62 points"};
  std::vector<double> xlo, xhi;
  m_.hull(m_.theta_lo, m_.theta_hi, xlo, xhi);
  image_property_ = property(Perturbation::box(std::move(xlo), std::move(xhi)), m_.size());
  RunOptions ro;
  ro.dtype = DType::kF64;
  ro.threads = o_.cell.threads;
  NNCERT_ASSIGN_OR_RETURN(Executor ex, Executor::create(model_.single(), ro));
  exec_ = std::make_unique<Executor>(std::move(ex));
  in_shape_ = model_.single().value(model_.single().inputs()[0]).shape;
  const bool needs_theta =
      region_ == Region::kTheta ||
      std::count(o_.cell.methods.begin(), o_.cell.methods.end(), Method::kAttack) > 0;
  if (needs_theta) {
    NNCERT_ASSIGN_OR_RETURN(Graph g, manipulation_graph(model_.single(), m_));
    NNCERT_ASSIGN_OR_RETURN(
        AttackModel tm,
        AttackModel::create(
            g, std::clamp<int64_t>(o_.cell.attack.restarts, 1, 64), o_.cell.threads));
    theta_model_ = std::make_unique<AttackModel>(std::move(tm));
  }
  return Status::ok();
}

Expected<bool> Checker::try_theta(const std::vector<double>& theta,
                                  const std::string& found_by,
                                  bool on_grid) {
  if (!on_grid) {
    // A grid point near a class change is easier to read (and one DLV could have found): try
    // the nearest grid point, then the corners of the cell around theta.
    NNCERT_ASSIGN_OR_RETURN(bool snapped, snap_to_grid(theta, found_by));
    if (snapped)
      return true;
  }
  std::vector<double> x = m_.image(theta);
  NNCERT_ASSIGN_OR_RETURN(auto ce, check_counterexample(model_, image_property_, 0, x));
  if (!ce)
    return false;
  ManipulationCounterexample mc;
  mc.theta = theta;
  mc.x = std::move(ce->x);
  mc.y = std::move(ce->y);
  mc.predicted = static_cast<int64_t>(std::max_element(mc.y.begin(), mc.y.end()) - mc.y.begin());
  mc.found_by = found_by;
  mc.on_grid = on_grid;
  res_.counterexample = std::move(mc);
  return true;
}

Expected<bool> Checker::snap_to_grid(const std::vector<double>& theta,
                                     const std::string& found_by) {
  const size_t d = theta.size();
  std::vector<int64_t> cell(d), nearest(d);
  for (size_t j = 0; j < d; ++j) {
    const double w = m_.theta_hi[j] - m_.theta_lo[j];
    const double f = w > 0 ? (theta[j] - m_.theta_lo[j]) / w * static_cast<double>(grid_[j]) : 0;
    cell[j] = std::clamp<int64_t>(static_cast<int64_t>(std::floor(f)), 0, grid_[j] - 1);
    nearest[j] = std::clamp<int64_t>(std::llround(f), 0, grid_[j]);
  }
  std::vector<std::vector<int64_t>> points{nearest};
  if (d <= 12)
    for (uint64_t mask = 0; mask < (uint64_t{1} << d); ++mask) {
      std::vector<int64_t> p(d);
      for (size_t j = 0; j < d; ++j)
        p[j] = cell[j] + static_cast<int64_t>((mask >> j) & 1);
      points.push_back(std::move(p));
    }
  std::vector<double> t(d);
  for (const auto& p : points) {
    for (size_t j = 0; j < d; ++j)
      t[j] = grid_coordinate(m_, j, grid_[j], p[j]);
    NNCERT_ASSIGN_OR_RETURN(bool found, try_theta(t, found_by, true));
    if (found)
      return true;
  }
  return false;
}

Verdict Checker::bound_block(const Block& b, const VerifyOptions& vo_in) {
  std::vector<double> tl, th;
  box_of(b, tl, th);
  VerifyOptions vo = vo_in;
  vo.should_stop = [this] {
    return stop();
  };
  Property p;
  const AttackModel* am = theta_model_.get();
  if (region_ == Region::kTheta) {
    p = property(Perturbation::box(tl, th), m_.dims());
  } else {
    std::vector<double> xlo, xhi;
    m_.hull(tl, th, xlo, xhi);
    p = property(Perturbation::box(std::move(xlo), std::move(xhi)), m_.size());
    am = &model_;
  }
  const PropertyResult r = verify_property(*am, p, vo);
  ++res_.bound_calls;
  res_.domains += r.domains;
  for (const auto& [k, v] : r.method_times)
    add_time(k, v);
  if (r.verdict == Verdict::kError)
    note(r.message);
  if (r.verdict == Verdict::kFalsified && region_ == Region::kTheta && r.counterexample) {
    auto found = try_theta(r.counterexample->x, r.counterexample->found_by, false);
    if (!found) {
      fail(found.status());
      return Verdict::kError;
    }
    if (*found)
      return Verdict::kFalsified;
    return Verdict::kUnknown;
  }
  if (r.verdict == Verdict::kFalsified && box_exact_ && r.counterexample) {
    // The hull is exactly the family's images: x is one of them.
    auto found = try_theta(m_.theta_for(r.counterexample->x), r.counterexample->found_by, false);
    if (!found) {
      fail(found.status());
      return Verdict::kError;
    }
    return *found ? Verdict::kFalsified : Verdict::kUnknown;
  }
  if (r.verdict == Verdict::kFalsified)
    return Verdict::kUnknown;  // a point of the hull box, not (necessarily) of the family
  return r.verdict;
}

Expected<bool> Checker::enumerate_corners(const Block& cell) {
  const size_t d = cell.lo.size();
  const auto t0 = Clock::now();
  std::vector<double> theta(d);
  bool go_on = true;
  for (uint64_t mask = 0; go_on && mask < (uint64_t{1} << d); ++mask) {
    if (stop()) {
      stopped_ = true;
      go_on = false;
      break;
    }
    int64_t key = 0;
    for (size_t j = 0; j < d; ++j) {
      const int64_t k = (mask >> j) & 1 ? cell.hi[j] : cell.lo[j];
      key = key * (grid_[j] + 1) + k;
      theta[j] = grid_coordinate(m_, j, grid_[j], k);
    }
    if (!seen_points_.insert(key).second)
      continue;
    ++res_.grid_points_checked;
    const std::vector<double> x = m_.image(theta);
    NNCERT_ASSIGN_OR_RETURN(auto out, exec_->run({Tensor::from_vector<double>(in_shape_, x)}));
    const std::vector<double> y = out[0].to_double_vector();
    if (unsafe_term_index(image_property_.cases[0], y) >= 0) {
      NNCERT_ASSIGN_OR_RETURN(bool found, try_theta(theta, "grid", true));
      if (found)
        go_on = false;
    }
  }
  add_time("grid", std::chrono::duration<double>(Clock::now() - t0).count());
  return go_on;
}

bool Checker::has(Method mt) const {
  return std::count(o_.cell.methods.begin(), o_.cell.methods.end(), mt) > 0;
}

void Checker::plan(VerifyOptions& block_opts, VerifyOptions& cell_opts) const {
  // Blocks: IBP and CROWN, and for 3 or more parameters input BaB with a domain cap; not
  // alpha-CROWN: a failed block costs two halves, which CROWN bounds far faster than
  // alpha-CROWN improves the block (MNIST brightness-contrast: ~0.1 s per CROWN call, ~10 s per
  // alpha-CROWN call, many pixels sit at a kink of the clip).
  block_opts = o_.cell;
  block_opts.methods.clear();
  for (Method mt : o_.cell.methods)
    if (mt == Method::kIbp || mt == Method::kCrown ||
        (mt == Method::kAlphaCrown && !has(Method::kCrown)))
      block_opts.methods.push_back(mt);
  const int64_t block_bab =
      o_.block_bab_domains >= 0 ? o_.block_bab_domains : (m_.dims() >= 3 ? 400 : 0);
  if (block_bab > 0 && has(Method::kInputBab) && region_ == Region::kTheta &&
      m_.dims() <= o_.cell.input_bab_max_inputs) {
    block_opts.methods.push_back(Method::kInputBab);
    block_opts.input_bab.max_domains = block_bab;
  }
  // In a cell the attack runs after the incomplete bounds (all of Theta was attacked already,
  // and most cells are certified by bounds alone), before branch and bound.
  // Over a theta cell (few dimensions) input BaB comes before alpha-CROWN: splitting theta is
  // cheap and complete (an MNIST brightness-contrast cell: 0.1 s by input BaB, 22 s by
  // alpha-CROWN).
  cell_opts = o_.cell;
  std::erase(cell_opts.methods, Method::kAttack);
  const bool theta = region_ == Region::kTheta;
  if (theta && has(Method::kInputBab) && has(Method::kAlphaCrown) &&
      m_.dims() <= o_.cell.input_bab_max_inputs) {
    std::erase(cell_opts.methods, Method::kAlphaCrown);
    auto it = std::find(cell_opts.methods.begin(), cell_opts.methods.end(), Method::kInputBab);
    cell_opts.methods.insert(it + 1, Method::kAlphaCrown);
  }
  if ((theta || box_exact_) && has(Method::kAttack)) {
    auto it = std::find_if(cell_opts.methods.begin(), cell_opts.methods.end(), [](Method mt) {
      return mt != Method::kIbp && mt != Method::kCrown && mt != Method::kAlphaCrown;
    });
    cell_opts.methods.insert(it, Method::kAttack);
  }
}

Expected<bool> Checker::attack_all() {
  if (!theta_model_ || !has(Method::kAttack))
    return false;
  const auto t0 = Clock::now();
  AttackOptions ao = o_.cell.attack;
  ao.threads = o_.cell.threads;
  ao.should_stop = [this] {
    return stop();
  };
  if (ao.max_seconds <= 0 && o_.cell.timeout_s > 0)
    ao.max_seconds = o_.cell.timeout_s;
  const Property p = property(Perturbation::box(m_.theta_lo, m_.theta_hi), m_.dims());
  NNCERT_ASSIGN_OR_RETURN(auto ce, attack(*theta_model_, p, ao));
  add_time("attack", std::chrono::duration<double>(Clock::now() - t0).count());
  if (!ce)
    return false;
  return try_theta(ce->x, ce->found_by, false);
}

Status Checker::certify(const VerifyOptions& block_opts, const VerifyOptions& cell_opts) {
  const size_t d = static_cast<size_t>(m_.dims());
  // 3-5. Blocks depth-first, lower halves first.
  std::vector<Block> stack;
  stack.push_back({std::vector<int64_t>(d, 0), grid_});
  while (!stack.empty()) {
    if (stop()) {
      stopped_ = true;
      break;
    }
    Block b = std::move(stack.back());
    stack.pop_back();
    const int64_t cells = b.cells();
    if (cells > 1) {
      if (o_.blocks && !block_opts.methods.empty()) {
        const Verdict v = bound_block(b, block_opts);
        if (res_.answer == ManipulationAnswer::kError)
          return Status::ok();
        if (res_.counterexample)
          return Status::ok();
        if (v == Verdict::kVerified) {
          res_.cells_certified += cells;
          ++res_.blocks_certified;
          continue;
        }
        if (v == Verdict::kNotRun) {
          stack.push_back(std::move(b));
          stopped_ = true;
          break;
        }
      }
      // Bisect along the dimension with the most cells (the first on ties).
      size_t j = 0;
      for (size_t k = 1; k < d; ++k)
        if (b.hi[k] - b.lo[k] > b.hi[j] - b.lo[j])
          j = k;
      const int64_t mid = b.lo[j] + (b.hi[j] - b.lo[j]) / 2;
      Block lower = b, upper = std::move(b);
      lower.hi[j] = mid;
      upper.lo[j] = mid;
      stack.push_back(std::move(upper));
      stack.push_back(std::move(lower));
      continue;
    }
    // One cell: the whole pipeline, then the grid fallback.
    Verdict v = Verdict::kUnknown;
    if (!cell_opts.methods.empty()) {
      v = bound_block(b, cell_opts);
      if (res_.answer == ManipulationAnswer::kError || res_.counterexample)
        return Status::ok();
      if (v == Verdict::kVerified) {
        ++res_.cells_certified;
        continue;
      }
      if (v == Verdict::kNotRun) {
        stack.push_back(std::move(b));
        stopped_ = true;
        break;
      }
    }
    NNCERT_ASSIGN_OR_RETURN(bool go_on, enumerate_corners(b));
    if (res_.counterexample)
      return Status::ok();
    if (!go_on) {
      stack.push_back(std::move(b));
      break;
    }
    ++res_.cells_grid_only;
    if (static_cast<int64_t>(res_.grid_only_cells.size()) < o_.max_listed_cells)
      res_.grid_only_cells.push_back(b.lo);
  }
  for (const Block& b : stack)
    res_.cells_open += b.cells();
  return Status::ok();
}

Status Checker::work() {
  VerifyOptions block_opts, cell_opts;
  plan(block_opts, cell_opts);
  NNCERT_ASSIGN_OR_RETURN(bool found, attack_all());
  if (found)
    return Status::ok();
  return certify(block_opts, cell_opts);
}

void Checker::run() {
  if (Status st = setup(); !st.is_ok()) {
    fail(st);
  } else {
    // 1. The sample itself.
    auto ce = check_counterexample(
        model_, property(Perturbation::box(m_.x0, m_.x0), m_.size()), 0, m_.x0);
    if (!ce) {
      fail(ce.status());
    } else if (*ce) {
      ManipulationCounterexample mc;
      mc.x = (*ce)->x;
      mc.y = (*ce)->y;
      mc.predicted =
          static_cast<int64_t>(std::max_element(mc.y.begin(), mc.y.end()) - mc.y.begin());
      mc.found_by = "clean";
      res_.counterexample = std::move(mc);
      res_.message = "the unmanipulated sample is misclassified";
    } else if (Status w = work(); !w.is_ok()) {
      fail(w);
    }
  }
  if (res_.answer != ManipulationAnswer::kError) {
    if (res_.counterexample)
      res_.answer = ManipulationAnswer::kFalsified;
    else if (res_.cells_open > 0)
      res_.answer = ManipulationAnswer::kUnknown;
    else if (res_.cells_grid_only > 0)
      res_.answer = ManipulationAnswer::kVerifiedGridOnly;
    else
      res_.answer = ManipulationAnswer::kVerifiedContinuous;
    if (res_.answer == ManipulationAnswer::kUnknown)
      notes_.insert(notes_.begin(),
                    std::to_string(res_.cells_open) + " cells not checked (" +
                        (o_.should_stop && o_.should_stop() ? "stopped" : "time limit") + ")");
    if (res_.message.empty())
      for (size_t i = 0; i < notes_.size(); ++i)
        res_.message += (i ? "; " : "") + notes_[i];
  }
  res_.time_s = std::chrono::duration<double>(Clock::now() - t0_).count();
}

}  // namespace

ManipulationCheckResult check_manipulation(const AttackModel& model,
                                           const Manipulation& m,
                                           int64_t label,
                                           const ManipulationCheckOptions& options) {
  ManipulationCheckResult res;
  Checker(model, m, label, options, res).run();
  return res;
}

}  // namespace nncert
