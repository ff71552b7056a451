# Regenerates the small .npy files here with NumPy itself (run once with Debian's python3;
# the tests do not need Python). They pin the reader to files numpy really writes: header
# versions 1-3, padding, byte orders, Fortran order.
import numpy as np
from numpy.lib import format as npf

x = (np.arange(12, dtype=np.float64).reshape(3, 2, 2) / 10 - 0.5)


def save(name, a, version=None):
    with open(name, "wb") as f:
        npf.write_array(f, a, version=version)


save("x_f4_v1.npy", x.astype("<f4"), (1, 0))
save("x_u1_v2.npy", (np.arange(12).reshape(3, 4) * 20).astype("|u1"), (2, 0))
save("x_f8_v3.npy", x.reshape(3, 4).astype("<f8"), (3, 0))
save("x_i2_be.npy", (np.arange(6).reshape(3, 2) - 3).astype(">i2"), (1, 0))
save("x_f8_fortran.npy", np.asfortranarray(x.reshape(3, 4)), (1, 0))
save("y_i8.npy", np.array([2, 0, 1], dtype="<i8"), (1, 0))
save("y_i4_col.npy", np.array([[2], [0], [1]], dtype="<i4"), (1, 0))
