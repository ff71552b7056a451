"""Generates the small malformed / special ONNX models used by tests/cli/test_cli.sh.

Run once with Debian's python3-onnx (`/usr/bin/python3 make_models.py`); the outputs are
committed, so building and testing nncert never needs Python.
"""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def save(graph, name, opset=13):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="nncert-test-data")
    model.ir_version = 8
    onnx.save(model, name)


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


w = numpy_helper.from_array(np.ones((3, 3), np.float32), "w")

# Three unsupported nodes: the CLI must name all of them in one message.
save(helper.make_graph([
    helper.make_node("MatMul", ["x", "w"], ["a"], name="mm"),
    helper.make_node("NonZero", ["a"], ["b"], name="nz_1"),
    helper.make_node("Gelu", ["a"], ["c"], name="ms_gelu", domain="com.microsoft"),
    helper.make_node("Mod", ["a", "a"], ["d"], name="mod_1"),
    helper.make_node("Relu", ["a"], ["y"], name="relu"),
], "unsupported", [vi("x", [1, 3])], [vi("y", [1, 3]), vi("b", None), vi("c", None),
                                      vi("d", None)], [w]), "unsupported_ops.onnx")

# A cycle: a = relu(b), b = relu(a).
save(helper.make_graph([
    helper.make_node("Add", ["x", "b"], ["a"], name="cyc_add"),
    helper.make_node("Relu", ["a"], ["b"], name="cyc_relu"),
], "cycle", [vi("x", [1, 3])], [vi("b", [1, 3])]), "cycle.onnx")

# A node reading a value nobody defines.
save(helper.make_graph([
    helper.make_node("Add", ["x", "ghost"], ["y"], name="reads_ghost"),
], "dangling", [vi("x", [1, 3])], [vi("y", [1, 3])]), "dangling.onnx")

# MatMul [1,3] x [4,2].
w42 = numpy_helper.from_array(np.ones((4, 2), np.float32), "w42")
save(helper.make_graph([
    helper.make_node("MatMul", ["x", "w42"], ["y"], name="bad_matmul"),
], "mismatch", [vi("x", [1, 3])], [vi("y", None)], [w42]), "shape_mismatch.onnx")

# NaN and Inf weights: loads and runs, with a warning.
wn = np.ones((3, 3), np.float32)
wn[0, 0] = np.nan
wn[1, 1] = np.inf
save(helper.make_graph([
    helper.make_node("MatMul", ["x", "w_nan"], ["y"], name="nan_matmul"),
], "nan", [vi("x", [1, 3])], [vi("y", [1, 3])], [numpy_helper.from_array(wn, "w_nan")]),
    "nan_weights.onnx")

# Dynamic batch with a PyTorch-style flatten chain.
save(helper.make_graph([
    helper.make_node("Shape", ["x"], ["s"], name="shape"),
    helper.make_node("Gather", ["s", "zero"], ["n"], name="gather", axis=0),
    helper.make_node("Unsqueeze", ["n", "axes"], ["n1"], name="unsq"),
    helper.make_node("Concat", ["n1", "minus1"], ["target"], name="concat", axis=0),
    helper.make_node("Reshape", ["x", "target"], ["flat"], name="reshape"),
    helper.make_node("MatMul", ["flat", "w12"], ["y"], name="mm"),
], "dynamic", [vi("x", ["batch", 3, 4])], [vi("y", ["batch", 2])], [
    numpy_helper.from_array(np.array(0, np.int64), "zero"),
    numpy_helper.from_array(np.array([0], np.int64), "axes"),
    numpy_helper.from_array(np.array([-1], np.int64), "minus1"),
    numpy_helper.from_array(np.arange(24, dtype=np.float32).reshape(12, 2) / 10, "w12"),
]), "dynamic_batch.onnx")
