#include <algorithm>
#include <array>

#include "ops/op_def.h"
#include "ops/op_list.h"

namespace nncert {

namespace ops {
#define NNCERT_DECLARE_OP(Name) extern const OpDef kOp##Name;
NNCERT_OP_LIST(NNCERT_DECLARE_OP)
#undef NNCERT_DECLARE_OP
}  // namespace ops

namespace {
#define NNCERT_OP_ENTRY(Name) &ops::kOp##Name,
// Addresses only, so the table is constant-initialised (usable from static initialisers).
constexpr std::array kTable = {NNCERT_OP_LIST(NNCERT_OP_ENTRY)};
#undef NNCERT_OP_ENTRY
}  // namespace

const OpDef* find_op(std::string_view op_type) {
  for (const OpDef* def : kTable)
    if (def->name == op_type)
      return def;
  return nullptr;
}

std::span<const OpDef* const> all_ops() {
  return {kTable.data(), kTable.size()};
}

}  // namespace nncert
