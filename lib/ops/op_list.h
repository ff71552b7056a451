// X-macro list of every op in the table, one line per op type (the file lib/ops/<snake>.cpp
// defines kOp<Name>). Adding an op: one line here, one source file, one line in CMakeLists.txt,
// one conformance entry in tests/unit/test_ops.cpp.
#pragma once

#define NNCERT_OP_LIST(X) \
  X(Abs)                  \
  X(Add)                  \
  X(AveragePool)          \
  X(BatchNormalization)   \
  X(Cast)                 \
  X(Clip)                 \
  X(Concat)               \
  X(Constant)             \
  X(ConstantOfShape)      \
  X(Conv)                 \
  X(ConvTranspose)        \
  X(Div)                  \
  X(Dropout)              \
  X(Erf)                  \
  X(Exp)                  \
  X(Flatten)              \
  X(Gather)               \
  X(Gemm)                 \
  X(GlobalAveragePool)    \
  X(Identity)             \
  X(LayerNormalization)   \
  X(LeakyRelu)            \
  X(Log)                  \
  X(MatMul)               \
  X(Max)                  \
  X(MaxPool)              \
  X(Min)                  \
  X(Mul)                  \
  X(Neg)                  \
  X(Pad)                  \
  X(Pow)                  \
  X(Reciprocal)           \
  X(ReduceMean)           \
  X(ReduceSum)            \
  X(Relu)                 \
  X(Reshape)              \
  X(Shape)                \
  X(Sigmoid)              \
  X(Sign)                 \
  X(Slice)                \
  X(Softmax)              \
  X(Softplus)             \
  X(Split)                \
  X(Sqrt)                 \
  X(Squeeze)              \
  X(Sub)                  \
  X(Tanh)                 \
  X(Transpose)            \
  X(Unsqueeze)
