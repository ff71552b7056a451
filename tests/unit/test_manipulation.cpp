// The DLV-style manipulation check (lib/verify/manipulation*.h) and the image files of its
// counterexamples (frontends/image): the families compute what they claim, the per-pixel hull of
// a cell contains every image of the cell, the prepended theta -> x graph computes the model on
// x(theta), a "verified-continuous" answer has no sampled class change anywhere in Theta (on
// random nets and the bundled MNIST CNN), a falsified answer carries an image whose class is not
// the label (also after writing and re-reading it as PGM), the grid-only fallback and the time
// limit, and PNG files whose chunks carry valid CRCs and inflate to the pixels.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include <catch2/catch.hpp>
#include <zlib.h>

#include "frontends/dataset/dataset.h"
#include "frontends/image/image_io.h"
#include "frontends/onnx/onnx_loader.h"
#include "runtime/executor.h"
#include "tests/support/random_nets.h"
#include "tests/support/test_paths.h"
#include "verify/manipulation_check.h"
#include "verify/manipulation_families.h"

using namespace nncert;

namespace {

std::vector<double> uniform(std::mt19937& rng, size_t n, double lo, double hi) {
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(n);
  for (double& x : v)
    x = u(rng);
  return v;
}

int64_t argmax(const std::vector<double>& y) {
  return static_cast<int64_t>(std::max_element(y.begin(), y.end()) - y.begin());
}

// True when the label strictly wins (the check's notion of "no class change").
bool keeps_label(const std::vector<double>& y, int64_t label) {
  for (size_t j = 0; j < y.size(); ++j)
    if (static_cast<int64_t>(j) != label && y[j] >= y[static_cast<size_t>(label)])
      return false;
  return true;
}

std::vector<double> run_f64(const Graph& g, const std::vector<double>& x) {
  RunOptions ro;
  ro.dtype = DType::kF64;
  auto ex = Executor::create(g, ro);
  REQUIRE(ex.has_value());
  auto out = ex->run({Tensor::from_vector<double>(g.value(g.inputs()[0]).shape, x)});
  REQUIRE(out.has_value());
  return (*out)[0].to_double_vector();
}

struct Mnist {
  AttackModel model;
  Dataset data;
};

const Mnist& mnist() {
  static const Mnist m = [] {
    auto g = load_onnx(std::string(NNCERT_SOURCE_DIR) + "/verifier/examples/mnist_a_adv.onnx");
    REQUIRE(g.has_value());
    auto am = AttackModel::create(g->graph, 8, 1);
    REQUIRE(am.has_value());
    DatasetSource src;
    src.path = std::string(NNCERT_SOURCE_DIR) + "/examples/data/mnist100-images-idx3-ubyte.gz";
    src.labels_path =
        std::string(NNCERT_SOURCE_DIR) + "/examples/data/mnist100-labels-idx1-ubyte.gz";
    auto range = parse_sample_range("0:8");
    REQUIRE(range.has_value());
    src.range = *range;
    auto d = load_dataset(src);
    REQUIRE(d.has_value());
    return Mnist{std::move(*am), std::move(*d)};
  }();
  return m;
}

const ImageLayout kMnist{1, 28, 28};

ManipulationCheckOptions fast_options() {
  ManipulationCheckOptions o;
  o.cell.threads = 1;
  o.cell.timeout_s = 5;
  o.cell.attack.threads = 1;
  return o;
}

// theta uniform in Theta.
std::vector<double> sample_theta(std::mt19937& rng, const Manipulation& m) {
  std::vector<double> t(static_cast<size_t>(m.dims()));
  for (size_t j = 0; j < t.size(); ++j)
    t[j] = std::uniform_real_distribution<double>(m.theta_lo[j], m.theta_hi[j])(rng);
  return t;
}

}  // namespace

TEST_CASE("manipulation families compute their images", "[manipulation]") {
  std::mt19937 rng(1);
  const ImageLayout l{1, 4, 5};
  const std::vector<double> x0 = uniform(rng, 20, 0, 1);
  const std::vector<double> g = uniform(rng, 20, -1, 1);

  auto bc = brightness_contrast(x0, l, 0, 1, {0.5, 1.5, -0.3, 0.3, 4});
  REQUIRE(bc.has_value());
  const std::vector<double> x = bc->image({1.3, 0.2});
  for (size_t i = 0; i < x0.size(); ++i)
    CHECK(x[i] == Approx(std::clamp(1.3 * x0[i] + 0.2, 0.0, 1.0)).margin(1e-15));

  PixelStepsOptions po;
  po.count = 3;
  po.steps = 2;
  po.step_size = 0.1;
  auto ps = pixel_steps(x0, l, 0, 1, po, g);
  REQUIRE(ps.has_value());
  REQUIRE(ps->pixels.size() == 3);
  CHECK(ps->default_grid == std::vector<int64_t>{4, 4, 4});
  const std::vector<double> xp = ps->image({1, -2, 0.5});
  for (size_t i = 0; i < x0.size(); ++i) {
    const auto it = std::find(ps->pixels.begin(), ps->pixels.end(), static_cast<int64_t>(i));
    const double step =
        it == ps->pixels.end() ? 0 : std::vector<double>{1, -2, 0.5}[it - ps->pixels.begin()];
    CHECK(xp[i] == Approx(std::clamp(x0[i] + 0.1 * step, 0.0, 1.0)).margin(1e-15));
  }
  po.pixels = {7, 7};
  CHECK_FALSE(pixel_steps(x0, l, 0, 1, po, g).has_value());  // listed twice

  CHECK(line_pixels(l, {0, 1, 4, 1}) == std::vector<int64_t>{5, 6, 7, 8, 9});
  CHECK(line_pixels(l, {0, 0, 3, 3}) == std::vector<int64_t>{0, 6, 12, 18});
  ScratchOptions so;
  so.line = std::array<int64_t, 4>{1, 0, 1, 3};  // column 1, rows 0..3
  auto sc = scratch(x0, l, 0, 1, so, g);
  REQUIRE(sc.has_value());
  const std::vector<double> xs = sc->image({0.25});
  for (int64_t i = 0; i < 20; ++i)
    CHECK(xs[static_cast<size_t>(i)] == (i % 5 == 1 ? 0.25 : x0[static_cast<size_t>(i)]));
  so.line = std::array<int64_t, 4>{0, 0, 5, 0};
  CHECK_FALSE(scratch(x0, l, 0, 1, so, g).has_value());  // column 5 is outside
}

TEST_CASE("a cell's hull box contains every image of the cell", "[manipulation]") {
  std::mt19937 rng(2);
  const ImageLayout l{2, 3, 3};
  for (int trial = 0; trial < 20; ++trial) {
    const std::vector<double> x0 = uniform(rng, 18, 0, 1);
    const std::vector<double> g = uniform(rng, 18, -1, 1);
    PixelStepsOptions po;
    po.count = 4;
    po.step_size = 0.3;
    std::vector<Manipulation> ms;
    ms.push_back(*brightness_contrast(x0, l, 0, 1, {0.2, 1.8, -0.5, 0.5, 4}));
    ms.push_back(*pixel_steps(x0, l, 0, 1, po, g));
    ms.push_back(*scratch(x0, l, 0, 1, {}, g));
    for (const Manipulation& m : ms) {
      INFO(m.family);
      // A random sub-box of Theta and random points in it.
      std::vector<double> tl(static_cast<size_t>(m.dims())), th(tl.size());
      for (size_t j = 0; j < tl.size(); ++j) {
        auto ab = uniform(rng, 2, m.theta_lo[j], m.theta_hi[j]);
        tl[j] = std::min(ab[0], ab[1]);
        th[j] = std::max(ab[0], ab[1]);
      }
      std::vector<double> xlo, xhi;
      m.hull(tl, th, xlo, xhi);
      for (int k = 0; k < 50; ++k) {
        std::vector<double> t(tl.size());
        for (size_t j = 0; j < t.size(); ++j)
          t[j] = k == 0 ? tl[j] : k == 1 ? th[j] : uniform(rng, 1, tl[j], th[j])[0];
        const std::vector<double> x = m.image(t);
        for (size_t i = 0; i < x.size(); ++i) {
          CHECK(x[i] >= xlo[i]);
          CHECK(x[i] <= xhi[i]);
        }
      }
    }
  }
}

TEST_CASE("pixel-steps: the hull is exactly the images, theta_for inverts", "[manipulation]") {
  std::mt19937 rng(6);
  const ImageLayout l{1, 4, 4};
  const std::vector<double> x0 = uniform(rng, 16, 0, 1);
  const std::vector<double> g = uniform(rng, 16, -1, 1);
  PixelStepsOptions po;
  po.count = 5;
  po.steps = 3;
  po.step_size = 0.2;  // pixels clip at 0 and 1
  auto ps = pixel_steps(x0, l, 0, 1, po, g);
  REQUIRE(ps.has_value());
  CHECK(ps->hull_is_exact());
  CHECK_FALSE(brightness_contrast(x0, l, 0, 1, {})->hull_is_exact());
  CHECK_FALSE(scratch(x0, l, 0, 1, {}, g)->hull_is_exact());
  std::vector<double> xlo, xhi;
  ps->hull(ps->theta_lo, ps->theta_hi, xlo, xhi);
  for (int k = 0; k < 200; ++k) {
    // Any point of the hull (moved pixels anywhere in their range) is an image of the family.
    std::vector<double> x = x0;
    for (int64_t p : ps->pixels) {
      const auto i = static_cast<size_t>(p);
      x[i] = uniform(rng, 1, xlo[i], xhi[i])[0];
    }
    const std::vector<double> t = ps->theta_for(x);
    for (size_t j = 0; j < t.size(); ++j) {
      CHECK(t[j] >= ps->theta_lo[j]);
      CHECK(t[j] <= ps->theta_hi[j]);
    }
    const std::vector<double> back = ps->image(t);
    for (size_t i = 0; i < x.size(); ++i)
      CHECK(back[i] == Approx(x[i]).margin(1e-9));
  }
}

TEST_CASE("the prepended theta graph computes the model on x(theta)", "[manipulation]") {
  const Mnist& mn = mnist();
  const std::vector<double>& x0 = mn.data.x[1];
  auto m = brightness_contrast(x0, kMnist, 0, 1, {0.5, 1.5, -0.4, 0.4, 4});
  REQUIRE(m.has_value());
  auto g = manipulation_graph(mn.model.single(), *m);
  REQUIRE(g.has_value());
  std::mt19937 rng(3);
  for (int k = 0; k < 5; ++k) {
    const std::vector<double> t = sample_theta(rng, *m);
    const std::vector<double> a = run_f64(*g, t);
    auto b = mn.model.evaluate(m->image(t));
    REQUIRE(b.has_value());
    for (size_t j = 0; j < a.size(); ++j)
      CHECK(a[j] == Approx((*b)[j]).margin(1e-9));
  }
}

TEST_CASE("verified-continuous holds at sampled parameters on random nets", "[manipulation]") {
  std::mt19937 rng(4);
  const ImageLayout l{1, 3, 3};
  int continuous = 0, falsified = 0;
  using Region = ManipulationCheckOptions::Region;
  for (int trial = 0; trial < 12; ++trial) {
    AttackModel net = test::random_relu_mlp(rng, 9, 12, 3);
    const std::vector<double> x0 = uniform(rng, 9, 0, 1);
    const int64_t label = argmax(*net.evaluate(x0));
    const double r = 0.05 + 0.05 * (trial % 4);
    auto bc = brightness_contrast(x0, l, 0, 1, {1 - r, 1 + r, -r, r, 3});
    REQUIRE(bc.has_value());
    PixelStepsOptions po;
    po.count = 2;
    po.steps = 1;
    po.step_size = 3 * r;
    po.grid = 3;
    auto ps = pixel_steps(x0, l, 0, 1, po, uniform(rng, 9, -1, 1));
    REQUIRE(ps.has_value());
    const std::pair<const Manipulation*, Region> runs[] = {
        {&*bc, Region::kTheta}, {&*bc, Region::kBox}, {&*ps, Region::kBox}, {&*ps, Region::kTheta}};
    for (const auto& [m, region] : runs) {
      ManipulationCheckOptions o = fast_options();
      o.region = region;
      const ManipulationCheckResult res = check_manipulation(net, *m, label, o);
      INFO("trial " << trial << " " << m->family << " " << res.region << ": "
                    << manipulation_answer_name(res.answer) << " " << res.message);
      REQUIRE(res.answer != ManipulationAnswer::kError);
      CHECK(res.cells == 9);
      CHECK(res.cells_certified + res.cells_grid_only + res.cells_open <= res.cells);
      if (res.answer == ManipulationAnswer::kVerifiedContinuous) {
        ++continuous;
        CHECK(res.cells_certified == 9);
        for (int k = 0; k < 200; ++k)
          CHECK(keeps_label(*net.evaluate(m->image(sample_theta(rng, *m))), label));
      } else if (res.answer == ManipulationAnswer::kFalsified) {
        ++falsified;
        REQUIRE(res.counterexample);
        CHECK_FALSE(keeps_label(*net.evaluate(m->image(res.counterexample->theta)), label));
      }
    }
  }
  CHECK(continuous > 0);
  CHECK(falsified > 0);
}

TEST_CASE("MNIST: certified families keep the class, a falsified one exports its image",
          "[manipulation]") {
  const Mnist& mn = mnist();
  std::mt19937 rng(5);
  const std::vector<double>& x0 = mn.data.x[1];
  const int64_t label = mn.data.labels[1];
  auto grad = margin_gradient(mn.model.single(), x0, label);
  REQUIRE(grad.has_value());

  // Small ranges: certified over the whole continuous range.
  PixelStepsOptions po;
  po.count = 3;
  auto ps = pixel_steps(x0, kMnist, 0, 1, po, *grad);
  REQUIRE(ps.has_value());
  const ManipulationCheckResult ok = check_manipulation(mn.model, *ps, label, fast_options());
  REQUIRE(ok.answer == ManipulationAnswer::kVerifiedContinuous);
  CHECK(ok.cells == 64);
  CHECK(ok.cells_certified == 64);
  CHECK(ok.grid_points == 125);
  for (int k = 0; k < 100; ++k)
    CHECK(keeps_label(*mn.model.evaluate(ps->image(sample_theta(rng, *ps))), label));

  // Contrast down to 0 (a blank image) must change the class.
  auto bc = brightness_contrast(x0, kMnist, 0, 1, {0.0, 1.0, 0.0, 0.5, 4});
  REQUIRE(bc.has_value());
  const ManipulationCheckResult bad = check_manipulation(mn.model, *bc, label, fast_options());
  REQUIRE(bad.answer == ManipulationAnswer::kFalsified);
  REQUIRE(bad.counterexample);
  const ManipulationCounterexample& ce = *bad.counterexample;
  CHECK(ce.predicted != label);
  CHECK(ce.x == bc->image(ce.theta));
  CHECK_FALSE(keeps_label(*mn.model.evaluate(ce.x), label));

  const std::string dir = test::scratch_dir();
  auto img = to_image8(ce.x, 1, 28, 28, 0, 1);
  REQUIRE(img.has_value());
  REQUIRE(write_pnm(dir + "/ce.pgm", *img).is_ok());
  auto back = read_pnm(dir + "/ce.pgm");
  REQUIRE(back.has_value());
  CHECK(back->pixels == img->pixels);
  auto xq = from_image8(*back, 1, 28, 28, 0, 1);
  REQUIRE(xq.has_value());
  for (size_t i = 0; i < xq->size(); ++i)
    CHECK(std::abs((*xq)[i] - ce.x[i]) <= 0.5 / 255 + 1e-12);
}

TEST_CASE("cells the bounds leave open fall back to their grid points", "[manipulation]") {
  const Mnist& mn = mnist();
  const std::vector<double>& x0 = mn.data.x[3];
  const int64_t label = mn.data.labels[3];
  auto bc = brightness_contrast(x0, kMnist, 0, 1, {0.9, 1.1, -0.05, 0.05, 3});
  REQUIRE(bc.has_value());

  // No methods: DLV itself, every grid point evaluated.
  ManipulationCheckOptions o = fast_options();
  o.cell.methods.clear();
  ManipulationCheckResult r = check_manipulation(mn.model, *bc, label, o);
  REQUIRE(r.answer == ManipulationAnswer::kVerifiedGridOnly);
  CHECK(r.cells_grid_only == 9);
  CHECK(r.grid_points_checked == 16);
  CHECK(r.bound_calls == 0);
  CHECK(std::string(manipulation_guarantee(r.answer)) == "grid");

  // IBP over the per-pixel hull is too loose here: some cells open, their corners are safe.
  o.cell.methods = {Method::kIbp};
  o.region = ManipulationCheckOptions::Region::kBox;
  r = check_manipulation(mn.model, *bc, label, o);
  CHECK(r.answer == ManipulationAnswer::kVerifiedGridOnly);
  CHECK(r.cells_grid_only > 0);
  CHECK(r.cells_certified + r.cells_grid_only == 9);

  // The default pipeline over theta certifies every cell.
  r = check_manipulation(mn.model, *bc, label, fast_options());
  CHECK(r.answer == ManipulationAnswer::kVerifiedContinuous);

  // No time: unknown, cells left open.
  o = fast_options();
  o.timeout_s = 1e-9;
  r = check_manipulation(mn.model, *bc, label, o);
  CHECK(r.answer == ManipulationAnswer::kUnknown);
  CHECK(r.cells_open > 0);
}

TEST_CASE("a misclassified sample is falsified by the clean image", "[manipulation]") {
  const Mnist& mn = mnist();
  const std::vector<double>& x0 = mn.data.x[1];
  const int64_t wrong = (mn.data.labels[1] + 1) % 10;
  auto bc = brightness_contrast(x0, kMnist, 0, 1, {});
  REQUIRE(bc.has_value());
  const ManipulationCheckResult r = check_manipulation(mn.model, *bc, wrong, fast_options());
  REQUIRE(r.answer == ManipulationAnswer::kFalsified);
  CHECK(r.counterexample->found_by == "clean");
  CHECK(r.counterexample->x == x0);
}

TEST_CASE("PNG files: signature, chunk CRCs and pixels", "[manipulation][image]") {
  Image8 img;
  img.width = 5;
  img.height = 3;
  img.channels = 3;
  for (int i = 0; i < 45; ++i)
    img.pixels.push_back(static_cast<uint8_t>(i * 5));
  auto bytes = png_bytes(img);
  REQUIRE(bytes.has_value());
  const std::string& s = *bytes;
  REQUIRE(s.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) == 0);
  auto u32 = [&](size_t p) {
    return (uint32_t(uint8_t(s[p])) << 24) | (uint32_t(uint8_t(s[p + 1])) << 16) |
           (uint32_t(uint8_t(s[p + 2])) << 8) | uint32_t(uint8_t(s[p + 3]));
  };
  std::vector<std::string> types;
  std::string idat;
  size_t pos = 8;
  while (pos + 12 <= s.size()) {
    const uint32_t len = u32(pos);
    const std::string type = s.substr(pos + 4, 4);
    types.push_back(type);
    const uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(s.data() + pos + 4), len + 4);
    CHECK(crc == u32(pos + 8 + len));
    if (type == "IHDR") {
      CHECK(u32(pos + 8) == 5);
      CHECK(u32(pos + 12) == 3);
      CHECK(s[pos + 16] == 8);  // bit depth
      CHECK(s[pos + 17] == 2);  // RGB
    }
    if (type == "IDAT")
      idat += s.substr(pos + 8, len);
    pos += 12 + len;
  }
  CHECK(pos == s.size());
  CHECK(types == std::vector<std::string>{"IHDR", "IDAT", "IEND"});
  std::vector<uint8_t> raw(3 * (1 + 15));
  uLongf n = raw.size();
  REQUIRE(uncompress(raw.data(), &n, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) ==
          Z_OK);
  REQUIRE(n == raw.size());
  for (int r = 0; r < 3; ++r) {
    CHECK(raw[static_cast<size_t>(r * 16)] == 0);  // filter: none
    CHECK(std::memcmp(raw.data() + r * 16 + 1, img.pixels.data() + r * 15, 15) == 0);
  }
  // RGB planes round-trip through the interleaved layout.
  const std::vector<double> planes = {0, 0.5, 1, 1, 0.5, 0};  // C=3, 1x2
  auto im = to_image8(planes, 3, 1, 2, 0, 1);
  REQUIRE(im.has_value());
  CHECK(im->pixels == std::vector<uint8_t>{0, 255, 128, 128, 255, 0});
  auto back = from_image8(*im, 3, 1, 2, 0, 1);
  REQUIRE(back.has_value());
  CHECK((*back)[1] == Approx(128.0 / 255));
}
