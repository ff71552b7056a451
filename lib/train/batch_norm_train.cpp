#include "train/batch_norm_train.h"

#include <cmath>

namespace nncert {
namespace {

ValueId add(Graph& g,
            const std::string& op,
            const std::string& name,
            std::vector<ValueId> inputs,
            DType dtype,
            ValueId out = kNoValue,
            Attributes attrs = {}) {
  Node n;
  n.name = name;
  n.op = op;
  n.inputs = std::move(inputs);
  n.attrs = std::move(attrs);
  if (out == kNoValue)
    out = g.add_value(g.unique_name(name), dtype, {}, false);
  n.outputs = {out};
  g.add_node(std::move(n));
  return out;
}

}  // namespace

Expected<TrainingGraph> make_training_graph(const Model& model) {
  TrainingGraph tg;
  tg.graph = model.graph;
  Graph& g = tg.graph;
  std::vector<NodeId> bns;
  for (NodeId id = 0; id < static_cast<NodeId>(g.num_nodes()); ++id)
    if (g.node(id).op == "BatchNormalization")
      bns.push_back(id);
  if (bns.empty())
    return tg;
  std::vector<Node> old;
  for (NodeId id : bns)
    old.push_back(g.node(id));
  g.remove_nodes(bns);  // outputs stay, without producer: the decompositions produce them
  for (const Node& n : old) {
    const ValueId x = n.inputs.at(0);
    const Value& xv = g.value(x);
    if (!xv.shape_known || xv.shape.size() < 2 || n.inputs.size() != 5)
      return Status(ErrorCode::kUnsupported,
                    "train: BatchNormalization " + n.name + " needs an input of known rank >= 2");
    const auto rank = static_cast<int64_t>(xv.shape.size());
    const DType dt = xv.dtype;
    std::vector<int64_t> axes{0}, bshape{1, -1};
    for (int64_t a = 2; a < rank; ++a) {
      axes.push_back(a);
      bshape.push_back(1);
    }
    const std::string p = n.name + ".train";
    const ValueId ax =
        g.add_constant(g.unique_name(p + ".axes"), Tensor::from_vector<int64_t>({rank - 1}, axes));
    const ValueId bs =
        g.add_constant(g.unique_name(p + ".shape"), Tensor::from_vector<int64_t>({rank}, bshape));
    const ValueId eps = g.add_constant(g.unique_name(p + ".eps"),
                                       Tensor::scalar(dt, n.attrs.get_float("epsilon", 1e-5)));
    Attributes keep;
    keep.set("keepdims", int64_t{1});
    const ValueId mu = add(g, "ReduceMean", p + ".mean", {x, ax}, dt, kNoValue, keep);
    const ValueId d = add(g, "Sub", p + ".centred", {x, mu}, dt);
    const ValueId sq = add(g, "Mul", p + ".sq", {d, d}, dt);
    const ValueId var = add(g, "ReduceMean", p + ".var", {sq, ax}, dt, kNoValue, keep);
    const ValueId sd =
        add(g, "Sqrt", p + ".std", {add(g, "Add", p + ".var_eps", {var, eps}, dt)}, dt);
    const ValueId xn = add(g, "Div", p + ".normed", {d, sd}, dt);
    const ValueId s = add(g, "Reshape", p + ".scale", {n.inputs[1], bs}, dt);
    const ValueId b = add(g, "Reshape", p + ".bias", {n.inputs[2], bs}, dt);
    add(g, "Add", p + ".out", {add(g, "Mul", p + ".scaled", {xn, s}, dt), b}, dt, n.outputs.at(0));
    tg.bn_inputs.push_back(x);
    tg.running_means.push_back(n.inputs[3]);
    tg.running_vars.push_back(n.inputs[4]);
  }
  NNCERT_RETURN_IF_ERROR(g.check_structure());
  return tg;
}

Status update_population_statistics(Model& model,
                                    const TrainingGraph& tg,
                                    const DataLoader& data,
                                    const RunOptions& run,
                                    int64_t samples) {
  if (!tg.has_batch_norm())
    return Status::ok();
  // The statistics graph: the training graph with each BN input as an output.
  Graph sg = tg.graph;
  sg.outputs() = tg.bn_inputs;
  NNCERT_ASSIGN_OR_RETURN(Executor exec, Executor::create(sg, run));
  const size_t k = tg.bn_inputs.size();
  std::vector<std::vector<double>> sum(k), sumsq(k);
  std::vector<int64_t> count(k, 0);
  const int64_t n = std::min(samples, data.size());
  const int64_t bs = data.options().batch_size;
  Shape in_shape = model.graph.value(model.graph.inputs().at(0)).shape;
  for (int64_t b0 = 0; b0 < n; b0 += bs) {
    Batch batch = data.slice(b0, std::min(n, b0 + bs));
    in_shape[0] = batch.size();
    NNCERT_ASSIGN_OR_RETURN(std::vector<Tensor> outs, exec.run({batch.x.reshaped(in_shape)}));
    for (size_t i = 0; i < k; ++i) {
      const Tensor& x = outs[i];
      const int64_t c = x.dim(1), per = x.numel() / (x.dim(0) * c);
      sum[i].resize(static_cast<size_t>(c), 0.0);
      sumsq[i].resize(static_cast<size_t>(c), 0.0);
      for (int64_t j = 0; j < x.numel(); ++j) {
        const auto ch = static_cast<size_t>((j / per) % c);
        const double v = x.get(j);
        sum[i][ch] += v;
        sumsq[i][ch] += v * v;
      }
      count[i] += x.dim(0) * per;
    }
  }
  for (size_t i = 0; i < k; ++i) {
    Tensor& mean = *model.graph.value(tg.running_means[i]).constant;
    Tensor& var = *model.graph.value(tg.running_vars[i]).constant;
    Tensor m(mean.dtype(), mean.shape()), v(var.dtype(), var.shape());
    for (int64_t ch = 0; ch < m.numel(); ++ch) {
      const double mu = sum[i][static_cast<size_t>(ch)] / static_cast<double>(count[i]);
      m.set(ch, mu);
      v.set(ch,
            std::max(sumsq[i][static_cast<size_t>(ch)] / static_cast<double>(count[i]) - mu * mu,
                     0.0));
    }
    mean = m;
    var = v;
  }
  return Status::ok();
}

}  // namespace nncert
