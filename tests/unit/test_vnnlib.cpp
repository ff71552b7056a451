// VNNLIB reader: the grammar as VNN-COMP files use it, the semantics of VNN-COMP's reader (asserts
// ANDed, disjunctive normal form, conjunctions grouped by input region), and errors with exact
// line:column. Round trips, the shared benchmark files and gzip: test_vnnlib_files.cpp.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "frontends/vnnlib/vnnlib.h"

using namespace nncert;

namespace {

// Declarations of X_0..X_{n-1} and Y_0..Y_{m-1}.
std::string decls(int n, int m) {
  std::string s;
  for (int i = 0; i < n; ++i)
    s += "(declare-const X_" + std::to_string(i) + " Real)\n";
  for (int j = 0; j < m; ++j)
    s += "(declare-const Y_" + std::to_string(j) + " Real)\n";
  return s;
}

// Bounds lo <= X_i <= hi for every input.
std::string box(int n, double lo, double hi) {
  std::string s;
  for (int i = 0; i < n; ++i)
    s += "(assert (>= X_" + std::to_string(i) + " " + std::to_string(lo) + "))\n(assert (<= X_" +
         std::to_string(i) + " " + std::to_string(hi) + "))\n";
  return s;
}

Property parse_ok(const std::string& text, const VnnlibOptions& options = {}) {
  auto p = parse_vnnlib(text, "test", options);
  INFO(text);
  if (!p)
    FAIL(p.status().to_string());
  REQUIRE(p->validate().is_ok());
  return std::move(*p);
}

Status parse_error(const std::string& text, const VnnlibOptions& options = {}) {
  auto p = parse_vnnlib(text, "test", options);
  INFO(text);
  REQUIRE_FALSE(p.has_value());
  return p.status();
}

// The single constraint of a single-constraint term.
const OutputConstraint& only(const UnsafeTerm& t) {
  REQUIRE(t.all.size() == 1);
  return t.all[0];
}

}  // namespace

TEST_CASE("VNNLIB: a minimal property", "[vnnlib]") {
  const Property p = parse_ok(decls(2, 2) + box(2, -1, 1) + "(assert (<= Y_0 Y_1))\n");
  REQUIRE(p.name == "test");
  REQUIRE(p.num_inputs == 2);
  REQUIRE(p.num_outputs == 2);
  REQUIRE(p.cases.size() == 1);
  const PropertyCase& c = p.cases[0];
  REQUIRE(c.input.kind == Perturbation::Kind::kBox);
  REQUIRE(c.input.lo == std::vector<double>{-1, -1});
  REQUIRE(c.input.hi == std::vector<double>{1, 1});
  REQUIRE(c.input.constraints.empty());
  REQUIRE(c.unsafe.size() == 1);
  const OutputConstraint& oc = only(c.unsafe[0]);
  REQUIRE(oc.coeffs == std::vector<double>{1, -1});  // Y_0 - Y_1 <= 0
  REQUIRE(oc.rhs == 0);
  REQUIRE_FALSE(oc.strict);
}

TEST_CASE("VNNLIB: lexical forms found in real files", "[vnnlib]") {
  // Comments (also after code and at the end without a newline), tabs, CRLF, no space between
  // ")(", scientific notation, integers, -0.0, a leading '+', '.5', an assert over several lines.
  const std::string text =
      "; header comment\r\n"
      "(declare-const X_0 Real)(declare-const X_1 Real) ; two on one line\r\n"
      "(declare-const\tX_2\tReal)\n"
      "(declare-const Y_0 Real)\n"
      "(assert (>= X_0 -0.0))(assert (<= X_0 1e-3))\n"
      "(assert\t(>=\tX_1 -2))\n(assert (<= X_1 +3))\n"
      "(assert (>= X_2 -1.5E+2)) (assert (<= X_2 .5))\n"
      "(assert\n  (<=\n    Y_0 ; the output\n    2.5e0\n  )\n)\n"
      "; trailing comment without newline";
  const Property p = parse_ok(text);
  const PropertyCase& c = p.cases.at(0);
  REQUIRE(c.input.lo == std::vector<double>{0.0, -2, -150});
  REQUIRE(c.input.hi == std::vector<double>{1e-3, 3, 0.5});
  REQUIRE(only(c.unsafe.at(0)).rhs == 2.5);
}

TEST_CASE("VNNLIB: comparisons and linear terms", "[vnnlib]") {
  const std::string head = decls(2, 3) + box(2, 0, 1);
  const auto constraint = [&](const std::string& formula) {
    const Property p = parse_ok(head + "(assert " + formula + ")\n");
    return p.cases.at(0).unsafe.at(0).all;
  };
  using V = std::vector<double>;
  SECTION("<= and >= with constants on either side") {
    auto c = constraint("(<= Y_0 3)");
    REQUIRE((c[0].coeffs == V{1, 0, 0} && c[0].rhs == 3));
    c = constraint("(>= Y_1 3)");  // -Y_1 <= -3
    REQUIRE((c[0].coeffs == V{0, -1, 0} && c[0].rhs == -3));
    c = constraint("(<= 3 Y_2)");  // -Y_2 <= -3
    REQUIRE((c[0].coeffs == V{0, 0, -1} && c[0].rhs == -3));
    c = constraint("(>= 3 Y_2)");
    REQUIRE((c[0].coeffs == V{0, 0, 1} && c[0].rhs == 3));
  }
  SECTION("strict comparisons stay strict on outputs") {
    auto c = constraint("(< Y_0 Y_1)");
    REQUIRE((c[0].coeffs == V{1, -1, 0} && c[0].rhs == 0 && c[0].strict));
    c = constraint("(> Y_0 1)");
    REQUIRE((c[0].coeffs == V{-1, 0, 0} && c[0].rhs == -1 && c[0].strict));
  }
  SECTION("= is two constraints") {
    auto c = constraint("(= Y_2 4)");
    REQUIRE(c.size() == 2);
    REQUIRE((c[0].coeffs == V{0, 0, 1} && c[0].rhs == 4));
    REQUIRE((c[1].coeffs == V{0, 0, -1} && c[1].rhs == -4));
  }
  SECTION("chained comparison") {
    auto c = constraint("(<= Y_0 Y_1 Y_2)");
    REQUIRE(c.size() == 2);
    REQUIRE(c[0].coeffs == V{1, -1, 0});
    REQUIRE(c[1].coeffs == V{0, 1, -1});
  }
  SECTION("+, -, unary -, * on either side, repeated variables") {
    auto c = constraint("(<= (+ Y_0 (* 2 Y_1) (* Y_2 -0.5) 1) (- Y_0 (- 3)))");
    // Y_0 + 2 Y_1 - 0.5 Y_2 + 1 <= Y_0 + 3: Y_0 cancels.
    REQUIRE((c[0].coeffs == V{0, 2, -0.5} && c[0].rhs == 2));
    c = constraint("(>= (- Y_0 Y_1 Y_2) (* 2 3 (+ Y_2 1)))");
    // 6 Y_2 + 6 - (Y_0 - Y_1 - Y_2) <= 0: -Y_0 + Y_1 + 7 Y_2 <= -6.
    REQUIRE((c[0].coeffs == V{-1, 1, 7} && c[0].rhs == -6));
    c = constraint("(<= (+ Y_1 Y_1) (- Y_0))");
    REQUIRE((c[0].coeffs == V{1, 2, 0} && c[0].rhs == 0));
  }
  SECTION("single-child and/or and nesting") {
    auto c = constraint("(or (and (<= Y_0 1)))");
    REQUIRE((c.size() == 1 && c[0].rhs == 1));
    c = constraint("(and (and (<= Y_0 1) (and (<= Y_1 2))) (or (>= Y_2 3)))");
    REQUIRE(c.size() == 3);
  }
  SECTION("comparisons without variables are folded") {
    auto c = constraint("(and (<= 1 2) (<= Y_0 Y_0) (<= Y_1 0))");  // true, true, Y_1 <= 0
    REQUIRE((c.size() == 1 && c[0].coeffs == V{0, 1, 0}));
    const Property p = parse_ok(head + "(assert (or (and (<= 2 1) (<= Y_0 0)) (<= Y_1 5)))\n");
    REQUIRE(p.cases[0].unsafe.size() == 1);  // the first disjunct is false
    REQUIRE(p.cases[0].unsafe[0].all[0].rhs == 5);
  }
}

TEST_CASE("VNNLIB: input constraints", "[vnnlib]") {
  SECTION("bounds through coefficients, =, strict (read as closed), fixed inputs") {
    const Property p = parse_ok(decls(3, 1) +
                                "(assert (<= (* 2 X_0) 1))(assert (<= (* -2 X_0) 1))\n"
                                "(assert (< X_0 0.25))\n"     // tighter upper bound, closed
                                "(assert (>= (- X_0) -4))\n"  // X_0 <= 4: looser, no change
                                "(assert (= X_1 0.3))\n"      // fixed input
                                "(assert (and (>= X_2 -1) (<= X_2 -1)))\n"
                                "(assert (>= Y_0 0))\n");
    const PropertyCase& c = p.cases.at(0);
    REQUIRE(c.input.lo == std::vector<double>{-0.5, 0.3, -1});
    REQUIRE(c.input.hi == std::vector<double>{0.25, 0.3, -1});
    REQUIRE(c.input.constraints.empty());
  }
  SECTION("constraints over several inputs become G x <= h") {
    const Property p = parse_ok(decls(3, 1) + box(3, 0, 1) +
                                "(assert (<= (+ X_0 X_1) 1.5))\n"
                                "(assert (>= (- X_2 (* 2 X_0)) -1))\n"
                                "(assert (>= Y_0 0))\n");
    const LinearConstraints& lc = p.cases.at(0).input.constraints;
    REQUIRE(lc.g.size() == 2);
    REQUIRE(lc.g[0] == std::vector<double>{1, 1, 0});
    REQUIRE(lc.h[0] == 1.5);
    REQUIRE(lc.g[1] == std::vector<double>{2, 0, -1});  // 2 X_0 - X_2 <= 1
    REQUIRE(lc.h[1] == 1);
  }
}

TEST_CASE("VNNLIB semantics: ACAS Xu style, one box and a disjunction of outputs", "[vnnlib]") {
  // Property 2 style: Y_0 (clear-of-conflict) is the maximal score somewhere in the box.
  const std::string text = decls(5, 5) + box(5, -0.5, 0.5) +
                           "(assert (or\n"
                           "  (and (>= Y_0 Y_1))\n"
                           "  (and (>= Y_0 Y_2))\n"
                           "  (and (>= Y_0 Y_3))\n"
                           "  (and (>= Y_0 Y_4))\n"
                           "))\n";
  const Property p = parse_ok(text);
  REQUIRE(p.cases.size() == 1);
  REQUIRE(p.cases[0].unsafe.size() == 4);
  for (int j = 1; j <= 4; ++j) {
    std::vector<double> want(5, 0.0);
    want[0] = -1;
    want[j] = 1;  // Y_j - Y_0 <= 0
    REQUIRE(only(p.cases[0].unsafe[j - 1]).coeffs == want);
  }
  // Property 1 style: a single output bound (Y_0 >= 3.99), ANDed at the top level.
  const Property p1 = parse_ok(decls(5, 5) + box(5, -0.5, 0.5) + "(assert (>= Y_0 3.99))\n");
  REQUIRE(p1.cases.size() == 1);
  REQUIRE(p1.cases[0].unsafe.size() == 1);
  REQUIRE(only(p1.cases[0].unsafe[0]).rhs == -3.99);
}

TEST_CASE("VNNLIB semantics: input bounds inside a disjunction give several boxes", "[vnnlib]") {
  // ACAS Xu property 6: two boxes (X_1 positive or negative) times four output terms.
  const std::string text = decls(5, 5) +
                           "(assert (or\n"
                           "  (and (<= X_0 0.7) (>= X_0 -0.1) (<= X_1 0.5) (>= X_1 0.1)"
                           " (<= X_2 -0.49) (>= X_2 -0.5) (<= X_3 0.5) (>= X_3 -0.5)"
                           " (<= X_4 0.5) (>= X_4 -0.5))\n"
                           "  (and (<= X_0 0.7) (>= X_0 -0.1) (<= X_1 -0.1) (>= X_1 -0.5)"
                           " (<= X_2 -0.49) (>= X_2 -0.5) (<= X_3 0.5) (>= X_3 -0.5)"
                           " (<= X_4 0.5) (>= X_4 -0.5))\n"
                           "))\n"
                           "(assert (or (and (<= Y_1 Y_0)) (and (<= Y_2 Y_0)) (and (<= Y_3 Y_0))"
                           " (and (<= Y_4 Y_0))))\n";
  const Property p = parse_ok(text);
  REQUIRE(p.cases.size() == 2);
  REQUIRE(p.cases[0].input.lo[1] == 0.1);
  REQUIRE(p.cases[0].input.hi[1] == 0.5);
  REQUIRE(p.cases[1].input.lo[1] == -0.5);
  REQUIRE(p.cases[1].input.hi[1] == -0.1);
  for (const PropertyCase& c : p.cases) {
    REQUIRE(c.input.lo[0] == -0.1);
    REQUIRE(c.unsafe.size() == 4);
    for (int j = 1; j <= 4; ++j)
      REQUIRE(only(c.unsafe[j - 1]).coeffs[j] == 1);
  }
}

TEST_CASE("VNNLIB semantics: MNIST / CIFAR robustness style, 1 box and 9 terms", "[vnnlib]") {
  const int n = 784, label = 7;
  std::string text = "; mnist style\n" + decls(n, 10);
  for (int i = 0; i < n; ++i)
    text += "(assert (<= X_" + std::to_string(i) + " " + std::to_string(0.01 * (i % 50)) +
            "))\n(assert (>= X_" + std::to_string(i) + " 0))\n";
  text += "(assert (or\n";
  for (int j = 0; j < 10; ++j)
    if (j != label)
      text += "\t(and (<= Y_" + std::to_string(label) + " Y_" + std::to_string(j) + "))\n";
  text += "))\n";
  const Property p = parse_ok(text);
  REQUIRE(p.num_inputs == n);
  REQUIRE(p.num_outputs == 10);
  REQUIRE(p.cases.size() == 1);
  REQUIRE(p.cases[0].input.hi[49] == 0.49);
  REQUIRE(p.cases[0].unsafe.size() == 9);
  int t = 0;
  for (int j = 0; j < 10; ++j) {
    if (j == label)
      continue;
    std::vector<double> want(10, 0.0);
    want[label] = 1;
    want[j] = -1;  // Y_label - Y_j <= 0
    const OutputConstraint& oc = only(p.cases[0].unsafe[t++]);
    REQUIRE(oc.coeffs == want);
    REQUIRE(oc.rhs == 0);
  }
}

TEST_CASE("VNNLIB semantics: normal form, order and grouping", "[vnnlib]") {
  const std::string head = decls(1, 2) + "(assert (>= X_0 0))\n(assert (<= X_0 1))\n";
  SECTION("an AND of ORs multiplies out, the earlier disjunction outermost") {
    const Property p = parse_ok(head +
                                "(assert (and (or (<= Y_0 1) (<= Y_0 2)) (or (<= Y_1 3) "
                                "(<= Y_1 4))))\n");
    REQUIRE(p.cases.size() == 1);
    REQUIRE(p.cases[0].unsafe.size() == 4);
    const double want[4][2] = {{1, 3}, {1, 4}, {2, 3}, {2, 4}};
    for (int t = 0; t < 4; ++t) {
      REQUIRE(p.cases[0].unsafe[t].all.size() == 2);
      REQUIRE(p.cases[0].unsafe[t].all[0].rhs == want[t][0]);
      REQUIRE(p.cases[0].unsafe[t].all[1].rhs == want[t][1]);
    }
  }
  SECTION("top-level asserts are ANDed with every conjunction, in file order") {
    const Property p =
        parse_ok(head + "(assert (or (<= Y_0 1) (<= Y_0 2)))\n(assert (<= Y_1 9))\n");
    REQUIRE(p.cases[0].unsafe.size() == 2);
    for (const UnsafeTerm& t : p.cases[0].unsafe) {
      REQUIRE(t.all.size() == 2);
      REQUIRE(t.all[1].rhs == 9);
    }
  }
  SECTION("equal regions from different disjuncts share a case; disjoint ones do not") {
    const Property p = parse_ok(decls(1, 1) +
                                "(assert (or (and (>= X_0 0) (<= X_0 1) (<= Y_0 1))\n"
                                "            (and (>= X_0 1) (<= X_0 2) (<= Y_0 2))\n"
                                "            (and (<= X_0 1) (>= X_0 -0.0) (<= Y_0 3))))\n");
    REQUIRE(p.cases.size() == 2);
    REQUIRE(p.cases[0].unsafe.size() == 2);  // [0, 1] twice (0 and -0 are the same bound)
    REQUIRE(p.cases[0].unsafe[1].all[0].rhs == 3);
    REQUIRE(p.cases[1].unsafe.size() == 1);
  }
  SECTION("a disjunct with an empty input range is dropped") {
    const Property p = parse_ok(head + "(assert (or (and (>= X_0 2) (<= Y_0 1)) (<= Y_1 1)))\n");
    REQUIRE(p.cases.size() == 1);
    REQUIRE(p.cases[0].unsafe.size() == 1);
    REQUIRE(p.cases[0].unsafe[0].all[0].coeffs == std::vector<double>{0, 1});
  }
  SECTION("no output constraint: one empty term (every input of the box is unsafe)") {
    const Property p = parse_ok(head);
    REQUIRE(p.cases.size() == 1);
    REQUIRE(p.cases[0].unsafe.size() == 1);
    REQUIRE(p.cases[0].unsafe[0].all.empty());
  }
  SECTION("(and) is true, (or) is false") {
    const Property p = parse_ok(head + "(assert (or (and) (<= Y_0 1) (or)))\n");
    REQUIRE(p.cases[0].unsafe.size() == 2);
    REQUIRE(p.cases[0].unsafe[0].all.empty());
  }
}

namespace {

// The parse fails with `code` and a message that starts with `prefix` ("LINE:COL: ...").
void require_error(const std::string& text,
                   ErrorCode code,
                   const std::string& prefix,
                   const VnnlibOptions& options = {}) {
  const Status st = parse_error(text, options);
  INFO(st.message());
  REQUIRE(st.code() == code);
  REQUIRE(st.message().substr(0, prefix.size()) == prefix);
}

const std::string kHead = "(declare-const X_0 Real)\n(declare-const Y_0 Real)\n";

}  // namespace

TEST_CASE("VNNLIB errors: syntax, with line and column", "[vnnlib][errors]") {
  const auto P = ErrorCode::kParseError;
  SECTION("unbalanced parentheses") {
    require_error(kHead + "(assert (<= X_0 1)\n",
                  P,
                  "3:1: this '(' is not closed: the file ends before its ')'");
    require_error(kHead + "(assert (<= X_0 1)\n(assert (>= X_0 0))\n",
                  P,
                  "4:1: expected ')' to close the assert opened at 3:1, got '('");
    require_error(kHead + "(assert (<= X_0 1)))\n", P, "3:20: unexpected ')'");
    require_error(kHead + "(assert (or (<= X_0 1)\n(assert (>= X_0 0))\n",
                  P,
                  "4:2: 'assert' inside a formula: is a ')' missing before it?");
    require_error("(declare-const X_0 Real Real)\n",
                  P,
                  "1:25: expected ')' to close the declare-const opened at 1:1, got 'Real'");
    require_error(kHead + "(assert (<= (+ X_0 1) 2", P, "3:9: this '(' is not closed");
  }
  SECTION("unknown operators and commands") {
    require_error(kHead + "(assert (foo X_0 1))\n", P, "3:10: unknown operator 'foo'");
    require_error(kHead + "(assert (not (<= X_0 1)))\n", P, "3:10: unknown operator 'not'");
    require_error(
        kHead + "(assert (<= (/ X_0 2) 1))\n", P, "3:14: unknown arithmetic operator '/'");
    require_error(kHead + "(check-sat)\n", P, "3:2: unknown command 'check-sat'");
    require_error(kHead + "assert\n", P, "3:1: expected '(' to start a command, got 'assert'");
    require_error(kHead + "(assert X_0)\n", P, "3:9: expected a formula: a comparison");
    require_error(kHead + "(assert (<= X_0))\n", P, "3:16: '<=' needs at least two operands");
  }
  SECTION("variables and declarations") {
    require_error(kHead + "(assert (<= X_1 1))\n", P, "3:13: undeclared variable 'X_1'");
    require_error(kHead + "(assert (<= Z 1))\n",
                  P,
                  "3:13: expected a number or a declared variable, got 'Z'");
    require_error("(declare-const X_0 Real)\n(declare-const X_2 Real)\n",
                  P,
                  "2:16: X_1 is not declared but X_2 is");
    require_error("(declare-const X_0 Real)\n(declare-const X_0 Real)\n",
                  P,
                  "2:16: X_0 is declared twice (first at 1:16)");
    require_error("(declare-const in0 Real)\n", P, "1:16: unsupported variable name 'in0'");
    require_error("(declare-const X_01 Real)\n", P, "1:16: unsupported variable name 'X_01'");
    require_error("(declare-const X_0 Int)\n", P, "1:20: unsupported sort 'Int' (only Real)");
    require_error("(declare-const X_4000 Real)\n", P, "1:16: the file is too short");
  }
  SECTION("numbers") {
    require_error(kHead + "(assert (<= X_0 abc))\n",
                  P,
                  "3:17: expected a number or a declared variable, got 'abc'");
    require_error(kHead + "(assert (<= X_0 1.2.3))\n", P, "3:17: malformed number '1.2.3'");
    require_error(kHead + "(assert (<= X_0 1e))\n", P, "3:17: malformed number '1e'");
    require_error(
        kHead + "(assert (<= X_0 1e999))\n", P, "3:17: number '1e999' is out of the float64 range");
    require_error(kHead + "(assert (<= X_0 -inf))\n",
                  P,
                  "3:17: expected a number or a declared variable, got '-inf'");
    require_error(kHead + "(assert (<= (* 1e300 1e300 X_0) 1))\n",
                  P,
                  "3:9: a coefficient or constant of this comparison overflows float64");
    // Underflow is not an error: the nearest double.
    const Property p = parse_ok(kHead + "(assert (>= X_0 -1e-400))(assert (<= X_0 1))\n");
    REQUIRE(p.cases[0].input.lo[0] == 0);
  }
  SECTION("control bytes are escaped in messages") {
    require_error(kHead + "(assert (<= X_0 a\x01))\n",
                  P,
                  "3:17: expected a number or a declared variable, got 'a\\x01'");
  }
  SECTION("nesting depth is limited") {
    std::string deep = kHead + "(assert ";
    for (int i = 0; i < 5000; ++i)
      deep += "(and ";
    require_error(deep, P, "3:");
    REQUIRE(parse_error(deep).message().find("nested deeper than") != std::string::npos);
  }
}

TEST_CASE("VNNLIB errors: semantics", "[vnnlib][errors]") {
  const auto A = ErrorCode::kInvalidArgument;
  const auto U = ErrorCode::kUnsupported;
  SECTION("every input needs a lower and an upper bound, in every region") {
    const std::string two =
        "(declare-const X_0 Real)\n(declare-const X_1 Real)\n"
        "(declare-const Y_0 Real)\n";
    require_error(two + "(assert (<= X_0 1))(assert (>= X_0 0))(assert (<= X_1 1))\n",
                  A,
                  "2:16: X_1 (declared here) has no finite lower bound");
    require_error(two + "(assert (<= X_1 1))(assert (>= X_1 0))(assert (<= X_0 1))\n",
                  A,
                  "1:16: X_0 (declared here) has no finite lower bound");
    require_error(two + "(assert (>= X_0 0))(assert (>= X_1 0))(assert (<= X_1 1))\n",
                  A,
                  "1:16: X_0 (declared here) has no finite upper bound");
    require_error(two +
                      "(assert (<= X_1 1))(assert (>= X_1 0))\n"
                      "(assert (or (and (>= X_0 0) (<= X_0 1)) (>= X_0 5)))\n",
                  A,
                  "1:16: X_0 (declared here) has no finite upper bound in input region 1 of 2");
    require_error(kHead, A, "1:16: X_0 (declared here) has no finite lower bound");
  }
  SECTION("no inputs or no outputs") {
    require_error("(declare-const Y_0 Real)\n", A, "1:1: no input is declared");
    require_error("(declare-const X_0 Real)\n", A, "1:1: no output is declared");
    require_error("", A, "1:1: no input is declared");
  }
  SECTION("an empty unsafe set") {
    require_error(kHead + "(assert (>= X_0 1))\n(assert (<= X_0 0))\n",
                  A,
                  "4:9: this bound leaves X_0 the empty range [1, 0], so the unsafe set is empty");
    require_error(kHead + "(assert (<= 1 0))\n", A, "3:1: this assert is always false");
    require_error(kHead +
                      "(assert (>= X_0 0))(assert (<= X_0 1))\n"
                      "(assert (or (>= X_0 2) (<= X_0 -1)))\n",
                  A,
                  "4:1: every conjunction of the disjunctions gives some input an empty range");
  }
  SECTION("constraints mixing inputs and outputs, nonlinear terms") {
    require_error(kHead + "(assert (<= X_0 Y_0))\n", U, "3:9: this comparison mixes inputs");
    require_error(kHead + "(assert (<= (* Y_0 Y_0) 1))\n", U, "3:13: nonlinear product");
    // A variable times a constant expression is linear.
    const Property p = parse_ok(kHead +
                                "(assert (>= X_0 0))(assert (<= X_0 1))\n"
                                "(assert (<= (* (- 2 3) Y_0 (+ 1 1)) 1))\n");
    REQUIRE(p.cases[0].unsafe[0].all[0].coeffs[0] == -2);
  }
  SECTION("normal forms that grow too large") {
    VnnlibOptions small;
    small.max_terms = 100;
    std::string f = kHead + "(assert (>= X_0 0))(assert (<= X_0 1))\n(assert (and";
    for (int i = 0; i < 7; ++i)  // 2^7 = 128 conjunctions
      f += " (or (<= Y_0 " + std::to_string(i) + ") (>= Y_0 " + std::to_string(i) + "))";
    require_error(f + "))\n",
                  U,
                  "4:9: the disjunctive normal form of this formula has more than "
                  "100 conjunctions",
                  small);
    REQUIRE(parse_vnnlib(f + "))\n", "ok").has_value());  // within the default limit

    // Two top-level disjunctions of 1001 terms: 1,002,001 > 10^6 with the default limit.
    std::string g = kHead + "(assert (>= X_0 0))(assert (<= X_0 1))\n";
    for (int a = 0; a < 2; ++a) {
      g += "(assert (or";
      for (int i = 0; i < 1001; ++i)
        g += " (<= Y_0 " + std::to_string(i) + ")";
      g += "))\n";
    }
    require_error(g, U, "5:1: the asserts up to this one expand to more than 1000000 conjunctions");

    VnnlibOptions few_values;
    few_values.max_values = 10;  // the 11th bound is one atom too many
    require_error(decls(8, 1) + box(8, 0, 1),
                  U,
                  "20:1: the asserts up to this one hold more than 10 atoms",
                  few_values);
    few_values.max_values = 20;  // 17 atoms, but 8 + 8 bounds and a row of 8 + 1 numbers
    require_error(decls(8, 1) + box(8, 0, 1) + "(assert (<= (+ X_0 X_7) 1))\n",
                  U,
                  "1:1: the property would hold more than 20",
                  few_values);
  }
}

TEST_CASE("VNNLIB errors: any damaged file returns a status with a position", "[vnnlib][errors]") {
  const std::string good = decls(3, 3) + box(3, -1, 1) +
                           "(assert (or (and (<= Y_0 Y_1) (>= (+ Y_2 (* 2 Y_0)) -1e-3))\n"
                           "            (and (<= (- Y_1) 0.5) (< Y_2 Y_0))))\n";
  REQUIRE(parse_vnnlib(good, "good").has_value());
  const auto check = [](const std::string& text) {
    auto p = parse_vnnlib(text, "x");
    if (p.has_value()) {
      REQUIRE(p->validate().is_ok());
      return;
    }
    const std::string& msg = p.status().message();
    const size_t colon = msg.find(':');
    REQUIRE(colon != std::string::npos);
    REQUIRE(msg.find(": ", colon + 1) != std::string::npos);
    for (size_t i = 0; i < msg.find(": "); ++i)
      REQUIRE((msg[i] == ':' || (msg[i] >= '0' && msg[i] <= '9')));
  };
  for (size_t len = 0; len < good.size(); ++len)
    check(good.substr(0, len));
  uint64_t state = 12345;  // xorshift: deterministic byte mutations
  const auto rnd = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  const std::string alphabet = "()XY_0123456789.-+*e <=>andorassert;\n\t\x01";
  for (int trial = 0; trial < 3000; ++trial) {
    std::string t = good;
    const int edits = 1 + static_cast<int>(rnd() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rnd() % t.size();
      switch (rnd() % 3) {
        case 0:
          t[at] = alphabet[rnd() % alphabet.size()];
          break;
        case 1:
          t.erase(at, 1 + rnd() % 8);
          break;
        default:
          t.insert(at, 1, alphabet[rnd() % alphabet.size()]);
      }
    }
    check(t);
  }
}
