// Stage 1 of the VNNLIB reader: recursive descent over the tokens of vnnlib_lexer.h, producing
// linear atoms and the disjunctive normal form of each assert. Grammar and semantics:
// docs/vnnlib.md.
#include <algorithm>
#include <cmath>
#include <deque>
#include <string>
#include <utility>

#include "frontends/vnnlib/vnnlib_internal.h"
#include "frontends/vnnlib/vnnlib_lexer.h"

namespace nncert::vnnlib_detail {

namespace {

// Deeper nesting is refused before the recursion could exhaust the stack.
constexpr int kMaxDepth = 1000;
// A gap-free list of declarations up to X_i takes at least 24 (i + 1) bytes ("(declare-const X_0
// Real)" is the shortest), so an index of a quarter of the file size or more leaves a gap; refusing
// it early bounds the index tables by the file size.
constexpr size_t kBytesPerIndex = 4;
// Atoms, terms and normal forms are indexed with 32 bits.
constexpr size_t kMaxTextBytes = size_t{1} << 31;
constexpr int64_t kMaxAtomRefs = int64_t{1} << 31;

// A linear expression: sum of coeff * variable plus a constant. Variables are keyed
// 2 * index + (1 for outputs), so one sort orders them and the parity tells the side.
struct Linear {
  std::vector<std::pair<int64_t, double>> terms;
  double constant = 0;
  void clear() {
    terms.clear();
    constant = 0;
  }
  bool is_constant() const { return terms.empty(); }
};

class Parser {
 public:
  Parser(std::string_view text, const VnnlibOptions& options)
      : text_(text), options_(options), lexer_(text) {}

  Expected<ParsedFile> run() {
    for (;;) {
      const Token t = next();
      if (t.kind == Tok::kEnd)
        break;
      NNCERT_RETURN_IF_ERROR(command(t));
    }
    NNCERT_RETURN_IF_ERROR(check_gaps(file_.input_decl, 'X'));
    NNCERT_RETURN_IF_ERROR(check_gaps(file_.output_decl, 'Y'));
    return std::move(file_);
  }

 private:
  Token next() { return lexer_.next(); }
  const Token& peek() { return lexer_.peek(); }

  Status error(size_t offset, const std::string& message, ErrorCode code = ErrorCode::kParseError) {
    return error_at(text_, offset, code, message);
  }
  std::string where(size_t offset) const {
    const Status s = error_at(text_, offset, ErrorCode::kParseError, "");
    return s.message().substr(0, s.message().size() - 2);  // "L:C"
  }
  // `t` is not what was expected inside the list opened at `open`.
  Status unexpected(const Token& t, size_t open, const std::string& expected) {
    if (t.kind == Tok::kEnd)
      return error(open, "this '(' is not closed: the file ends before its ')'");
    return error(t.offset, "expected " + expected + ", got " + describe(t));
  }
  Status close(size_t open, const std::string& what) {
    const Token t = next();
    if (t.kind == Tok::kClose)
      return Status::ok();
    return unexpected(t, open, "')' to close the " + what + " opened at " + where(open));
  }

  // ---- commands --------------------------------------------------------------------------
  Status command(const Token& open) {
    if (open.kind == Tok::kClose)
      return error(open.offset, "unexpected ')': no list is open here");
    if (open.kind != Tok::kOpen)
      return error(open.offset, "expected '(' to start a command, got " + describe(open));
    const Token name = next();
    if (name.kind == Tok::kSymbol && name.text == "declare-const")
      return declaration(open.offset);
    if (name.kind == Tok::kSymbol && name.text == "assert")
      return assertion(open.offset);
    if (name.kind == Tok::kSymbol)
      return error(name.offset,
                   "unknown command " + quote(name.text) + " (expected declare-const or assert)");
    return unexpected(name, open.offset, "a command (declare-const or assert)");
  }

  Status declaration(size_t open) {
    const Token name = next();
    if (name.kind != Tok::kSymbol)
      return unexpected(name, open, "a variable name after declare-const");
    bool output = false;
    int64_t index = 0;
    if (!parse_variable(name.text, &output, &index))
      return error(
          name.offset,
          "unsupported variable name " + quote(name.text) +
              ": inputs are X_<i> and outputs Y_<i> (i = 0, 1, ... without leading zeros)");
    const Token sort = next();
    if (sort.kind != Tok::kSymbol)
      return unexpected(sort, open, "the sort Real");
    if (sort.text != "Real")
      return error(sort.offset, "unsupported sort " + quote(sort.text) + " (only Real)");
    NNCERT_RETURN_IF_ERROR(close(open, "declare-const"));
    std::vector<size_t>& decl = output ? file_.output_decl : file_.input_decl;
    if (static_cast<size_t>(index) >= text_.size() / kBytesPerIndex)
      return error(name.offset,
                   "the file is too short to declare every index up to " + std::string(name.text) +
                       ": the indices must run 0, 1, ..., n-1 without gaps");
    if (decl.size() <= static_cast<size_t>(index))
      decl.resize(index + 1, kNoOffset);
    if (decl[index] != kNoOffset)
      return error(
          name.offset,
          std::string(name.text) + " is declared twice (first at " + where(decl[index]) + ")");
    decl[index] = name.offset;
    return Status::ok();
  }

  Status assertion(size_t open) {
    Dnf& d = scratch(1);
    NNCERT_RETURN_IF_ERROR(formula(1, &d));
    NNCERT_RETURN_IF_ERROR(close(open, "assert"));
    Dnf& all = file_.conjunctions;
    if (static_cast<int64_t>(all.atoms.size() + d.atoms.size()) >
            std::min(options_.max_values, kMaxAtomRefs) ||
        static_cast<int64_t>(all.starts.size() + d.size()) > kMaxAtomRefs)
      return error(open,
                   "the asserts up to this one hold more than " +
                       std::to_string(options_.max_values) +
                       " atoms in disjunctive normal form (VnnlibOptions::max_values)",
                   ErrorCode::kUnsupported);
    Assert a;
    a.first = static_cast<uint32_t>(all.size());
    const auto shift = static_cast<uint32_t>(all.atoms.size());
    all.atoms.insert(all.atoms.end(), d.atoms.begin(), d.atoms.end());
    for (size_t j = 1; j < d.starts.size(); ++j)
      all.starts.push_back(d.starts[j] + shift);
    a.last = static_cast<uint32_t>(all.size());
    a.offset = open;
    file_.asserts.push_back(a);
    return Status::ok();
  }

  // Normal forms under construction, one per nesting depth, reused so that reading an assert
  // allocates nothing once the buffers have grown. A deque keeps references stable.
  Dnf& scratch(int depth) {
    while (static_cast<int>(scratch_.size()) <= depth)
      scratch_.emplace_back();
    return scratch_[depth];
  }
  // Sets d to true (one empty conjunction) or false (none) without giving up its buffers.
  static void reset(Dnf* d, bool truth) {
    d->atoms.clear();
    d->starts.assign(truth ? 2 : 1, 0);
  }

  Status check_gaps(const std::vector<size_t>& decl, char letter) {
    for (size_t i = 0; i < decl.size(); ++i)
      if (decl[i] == kNoOffset)
        return error(decl.back(),
                     std::string(1, letter) + "_" + std::to_string(i) + " is not declared but " +
                         letter + "_" + std::to_string(decl.size() - 1) +
                         " is: the indices must run 0, 1, ..., n-1 without gaps");
    return Status::ok();
  }

  // ---- formulas --------------------------------------------------------------------------
  Status formula(int depth, Dnf* out) {
    const Token open = next();
    if (depth > kMaxDepth)
      return error(open.offset, "formula nested deeper than " + std::to_string(kMaxDepth));
    if (open.kind != Tok::kOpen) {
      if (open.kind == Tok::kSymbol)
        return error(open.offset,
                     "expected a formula: a comparison, 'and' or 'or' in parentheses, got " +
                         describe(open));
      return error(open.offset, "expected a formula, got " + describe(open));
    }
    const Token op = next();
    if (op.kind != Tok::kSymbol)
      return unexpected(op, open.offset, "an operator after '('");
    const std::string_view s = op.text;
    if (s == "and" || s == "or")
      return connective(s == "and", open.offset, depth, out);
    if (s == "<=" || s == "<" || s == ">=" || s == ">" || s == "=")
      return comparison(s, open.offset, depth, out);
    if (s == "assert" || s == "declare-const")
      return error(op.offset, quote(s) + " inside a formula: is a ')' missing before it?");
    return error(op.offset,
                 "unknown operator " + quote(s) + " (expected and, or, <=, <, >=, >, =)");
  }

  Status connective(bool is_and, size_t open, int depth, Dnf* out) {
    reset(out, is_and);  // (and) is true, (or) is false
    for (;;) {
      const Token& t = peek();
      if (t.kind == Tok::kClose) {
        next();
        return Status::ok();
      }
      if (t.kind == Tok::kEnd)
        return unexpected(t, open, "");
      Dnf& child = scratch(depth + 1);
      NNCERT_RETURN_IF_ERROR(formula(depth + 1, &child));
      NNCERT_RETURN_IF_ERROR(is_and ? and_into(out, child, open) : or_into(out, child, open));
    }
  }

  Status too_large(size_t open, const std::string& what) {
    return error(open,
                 "the disjunctive normal form of this formula has more than " + what +
                     " (limits: VnnlibOptions max_terms = " + std::to_string(options_.max_terms) +
                     ", max_values = " + std::to_string(options_.max_values) + ")",
                 ErrorCode::kUnsupported);
  }

  // acc AND child: every conjunction of acc joined with every conjunction of child (acc outer).
  Status and_into(Dnf* acc, const Dnf& child, size_t open) {
    const auto a = static_cast<int64_t>(acc->size()), b = static_cast<int64_t>(child.size());
    if (a == 0)
      return Status::ok();
    if (b == 0) {
      reset(acc, false);
      return Status::ok();
    }
    if (a > options_.max_terms / b)
      return too_large(open, std::to_string(options_.max_terms) + " conjunctions");
    const auto na = static_cast<int64_t>(acc->atoms.size());
    const auto nb = static_cast<int64_t>(child.atoms.size());
    if (na * b + nb * a > std::min(options_.max_values, kMaxAtomRefs))
      return too_large(open, std::to_string(options_.max_values) + " atoms");
    if (a == 1 && b == 1) {
      acc->atoms.insert(acc->atoms.end(), child.atoms.begin(), child.atoms.end());
      acc->starts.back() = static_cast<uint32_t>(acc->atoms.size());
      return Status::ok();
    }
    Dnf out;
    out.atoms.reserve(na * b + nb * a);
    out.starts.reserve(a * b + 1);
    for (int64_t i = 0; i < a; ++i)
      for (int64_t j = 0; j < b; ++j) {
        out.atoms.insert(out.atoms.end(),
                         acc->atoms.begin() + acc->starts[i],
                         acc->atoms.begin() + acc->starts[i + 1]);
        out.atoms.insert(out.atoms.end(),
                         child.atoms.begin() + child.starts[j],
                         child.atoms.begin() + child.starts[j + 1]);
        out.starts.push_back(static_cast<uint32_t>(out.atoms.size()));
      }
    *acc = std::move(out);
    return Status::ok();
  }

  Status or_into(Dnf* acc, const Dnf& child, size_t open) {
    if (static_cast<int64_t>(acc->size() + child.size()) > options_.max_terms)
      return too_large(open, std::to_string(options_.max_terms) + " conjunctions");
    if (static_cast<int64_t>(acc->atoms.size() + child.atoms.size()) >
        std::min(options_.max_values, kMaxAtomRefs))
      return too_large(open, std::to_string(options_.max_values) + " atoms");
    const auto shift = static_cast<uint32_t>(acc->atoms.size());
    acc->atoms.insert(acc->atoms.end(), child.atoms.begin(), child.atoms.end());
    for (size_t j = 1; j < child.starts.size(); ++j)
      acc->starts.push_back(child.starts[j] + shift);
    return Status::ok();
  }

  // (op e1 e2 ... ek), k >= 2: the conjunction of (op e_i e_{i+1}) (SMT-LIB chaining).
  Status comparison(std::string_view op, size_t open, int depth, Dnf* out) {
    reset(out, true);
    bool is_false = false;
    int operands = 0;
    for (;;) {
      const Token& t = peek();
      if (t.kind == Tok::kClose || t.kind == Tok::kEnd) {
        if (t.kind == Tok::kEnd)
          return unexpected(t, open, "");
        if (operands < 2)
          return error(t.offset, quote(op) + " needs at least two operands");
        next();
        break;
      }
      Linear& cur = operands % 2 == 0 ? a_ : b_;
      cur.clear();
      NNCERT_RETURN_IF_ERROR(expression(depth + 1, 1.0, &cur));
      if (++operands >= 2) {
        const Linear& prev = operands % 2 == 0 ? a_ : b_;
        NNCERT_RETURN_IF_ERROR(make_atoms(op, prev, cur, open, &out->atoms, &is_false));
      }
    }
    if (is_false) {
      reset(out, false);
      return Status::ok();
    }
    out->starts.back() = static_cast<uint32_t>(out->atoms.size());
    return Status::ok();
  }

  // (op lhs rhs) as atoms "terms <= rhs": lhs - rhs <= 0 for <=, negated for >=, both for =.
  Status make_atoms(std::string_view op,
                    const Linear& lhs,
                    const Linear& rhs,
                    size_t open,
                    std::vector<uint32_t>* atoms,
                    bool* is_false) {
    merged_.clear();
    merged_.insert(merged_.end(), lhs.terms.begin(), lhs.terms.end());
    for (const auto& [key, c] : rhs.terms)
      merged_.emplace_back(key, -c);
    if (merged_.size() > 1) {
      std::sort(merged_.begin(), merged_.end(), [](const auto& x, const auto& y) {
        return x.first < y.first;
      });
      size_t w = 0;
      for (size_t r = 0; r < merged_.size(); ++r) {
        if (w > 0 && merged_[w - 1].first == merged_[r].first)
          merged_[w - 1].second += merged_[r].second;
        else
          merged_[w++] = merged_[r];
      }
      merged_.resize(w);
    }
    std::erase_if(merged_, [](const auto& t) { return t.second == 0; });
    const double bound = rhs.constant - lhs.constant;
    bool finite = std::isfinite(bound);
    bool has_x = false, has_y = false;
    for (const auto& [key, c] : merged_) {
      finite = finite && std::isfinite(c);
      (key % 2 == 1 ? has_y : has_x) = true;
    }
    if (!finite)
      return error(open, "a coefficient or constant of this comparison overflows float64");
    if (has_x && has_y)
      return error(open,
                   "this comparison mixes inputs (X) and outputs (Y); only constraints over the "
                   "inputs alone or over the outputs alone are supported",
                   ErrorCode::kUnsupported);
    const auto emit = [&](double sign, bool strict) {
      if (merged_.empty()) {
        const double v = sign * bound;  // 0 <= v (strict: 0 < v)
        if (strict ? !(0 < v) : !(0 <= v))
          *is_false = true;
        return;
      }
      Atom a;
      a.begin = static_cast<uint32_t>(file_.terms.size());
      for (const auto& [key, c] : merged_)
        file_.terms.push_back({key / 2, sign * c});
      a.end = static_cast<uint32_t>(file_.terms.size());
      a.rhs = sign * bound;
      a.strict = strict;
      a.output = has_y;
      a.offset = open;
      atoms->push_back(static_cast<uint32_t>(file_.atoms.size()));
      file_.atoms.push_back(a);
    };
    if (op == "<=" || op == "<") {
      emit(1, op == "<");
    } else if (op == ">=" || op == ">") {
      emit(-1, op == ">");
    } else {  // =
      emit(1, false);
      emit(-1, false);
    }
    return Status::ok();
  }

  // ---- linear expressions ----------------------------------------------------------------
  Status expression(int depth, double scale, Linear* acc) {
    const Token t = next();
    if (depth > kMaxDepth)
      return error(t.offset, "expression nested deeper than " + std::to_string(kMaxDepth));
    if (t.kind == Tok::kSymbol)
      return leaf(t, scale, acc);
    if (t.kind != Tok::kOpen)
      return error(t.offset, "expected a number, a variable or '(', got " + describe(t));
    const Token op = next();
    if (op.kind != Tok::kSymbol)
      return unexpected(op, t.offset, "an arithmetic operator (+, - or *) after '('");
    if (op.text == "+") {
      int count = 0;
      while (peek().kind != Tok::kClose) {
        if (peek().kind == Tok::kEnd)
          return unexpected(peek(), t.offset, "");
        NNCERT_RETURN_IF_ERROR(expression(depth + 1, scale, acc));
        ++count;
      }
      next();
      if (count == 0)
        return error(t.offset, "'+' needs at least one operand");
      return Status::ok();
    }
    if (op.text == "-")
      return minus(t.offset, depth, scale, acc);
    if (op.text == "*")
      return product(t.offset, depth, scale, acc);
    return error(op.offset,
                 "unknown arithmetic operator " + quote(op.text) + " (expected +, - or *)");
  }

  Status leaf(const Token& t, double scale, Linear* acc) {
    const std::string_view s = t.text;
    if (looks_numeric(s)) {
      double v = 0;
      NNCERT_RETURN_IF_ERROR(number(t, &v));
      acc->constant += scale * v;
      return Status::ok();
    }
    bool output = false;
    int64_t index = 0;
    if (parse_variable(s, &output, &index)) {
      const std::vector<size_t>& decl = output ? file_.output_decl : file_.input_decl;
      if (static_cast<size_t>(index) >= decl.size() || decl[index] == kNoOffset)
        return error(t.offset, "undeclared variable " + quote(s));
      acc->terms.emplace_back(2 * index + (output ? 1 : 0), scale);
      return Status::ok();
    }
    return error(t.offset, "expected a number or a declared variable, got " + quote(s));
  }

  Status number(const Token& t, double* v) {
    switch (read_number(t.text, v)) {
      case NumberRead::kOk:
        return Status::ok();
      case NumberRead::kOverflow:
        return error(t.offset, "number " + quote(t.text) + " is out of the float64 range");
      case NumberRead::kMalformed:
        break;
    }
    return error(t.offset, "malformed number " + quote(t.text));
  }

  // (- e): -e; (- e1 e2 ... ek): e1 - e2 - ... - ek.
  Status minus(size_t open, int depth, double scale, Linear* acc) {
    Linear first;
    if (peek().kind == Tok::kClose)
      return error(peek().offset, "'-' needs at least one operand");
    NNCERT_RETURN_IF_ERROR(expression(depth + 1, 1.0, &first));
    const bool unary = peek().kind == Tok::kClose;
    const double s1 = unary ? -scale : scale;
    for (const auto& [key, c] : first.terms)
      acc->terms.emplace_back(key, s1 * c);
    acc->constant += s1 * first.constant;
    while (peek().kind != Tok::kClose) {
      if (peek().kind == Tok::kEnd)
        return unexpected(peek(), open, "");
      NNCERT_RETURN_IF_ERROR(expression(depth + 1, -scale, acc));
    }
    next();
    return Status::ok();
  }

  // (* f1 ... fk): at most one factor may hold variables; the others are constants.
  Status product(size_t open, int depth, double scale, Linear* acc) {
    Linear result, factor;
    result.constant = 1;
    bool have_linear = false;
    int count = 0;
    while (peek().kind != Tok::kClose) {
      if (peek().kind == Tok::kEnd)
        return unexpected(peek(), open, "");
      factor.clear();
      NNCERT_RETURN_IF_ERROR(expression(depth + 1, 1.0, &factor));
      ++count;
      if (factor.is_constant()) {
        for (auto& term : result.terms)
          term.second *= factor.constant;
        result.constant *= factor.constant;
      } else if (!have_linear) {
        have_linear = true;
        const double k = result.constant;  // product of the constants so far
        result.terms = factor.terms;
        for (auto& term : result.terms)
          term.second *= k;
        result.constant = k * factor.constant;
      } else {
        return error(open,
                     "nonlinear product: at most one factor of '*' may contain variables",
                     ErrorCode::kUnsupported);
      }
    }
    next();
    if (count == 0)
      return error(open, "'*' needs at least one operand");
    for (const auto& [key, c] : result.terms)
      acc->terms.emplace_back(key, scale * c);
    acc->constant += scale * result.constant;
    return Status::ok();
  }

  std::string_view text_;
  const VnnlibOptions& options_;
  Lexer lexer_;
  ParsedFile file_;
  std::deque<Dnf> scratch_;
  Linear a_, b_;  // the operands of the comparison being read (reused: no allocation per atom)
  std::vector<std::pair<int64_t, double>> merged_;
};

}  // namespace

Expected<ParsedFile> parse_file(std::string_view text, const VnnlibOptions& options) {
  if (text.size() > kMaxTextBytes)
    return Status(ErrorCode::kUnsupported,
                  "VNNLIB text of " + std::to_string(text.size()) + " bytes: at most " +
                      std::to_string(kMaxTextBytes) + " are supported");
  return Parser(text, options).run();
}

}  // namespace nncert::vnnlib_detail
