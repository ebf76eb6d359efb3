# The polynomial of expNonPositiveF32x4 (workers/wasm/vector-math.ts): e^r = 1 + r + r²·q(r) on
# [-ln2/2, ln2/2], q of degree 3 fitted for relative error (iteratively reweighted least squares
# on Chebyshev nodes), then checked in float32 arithmetic over [-87.3, 0]: prints the coefficients
# and the largest error in ulps (2.25). Run: python3 test/reference/fit-exp-polynomial.py
import numpy as np
lo, hi = -np.log(2)/2, np.log(2)/2
# e^r = 1 + r + r^2 q(r); fit q (degree 3) minimizing relative error of e^r, iteratively reweighted (near-minimax).
r = np.cos(np.linspace(0, np.pi, 4001)) * (hi - lo) / 2 + (hi + lo) / 2
target = (np.exp(r) - 1 - r) / r**2
w = np.ones_like(r)
for it in range(60):
    A = np.vstack([r**k for k in range(4)]).T
    coef, *_ = np.linalg.lstsq(A * (w * r**2 / np.exp(r))[:, None], target * w * r**2 / np.exp(r), rcond=None)
    err = (1 + r + r**2 * (A @ coef) - np.exp(r)) / np.exp(r)
    w = w * (1 + 0.5 * np.abs(err) / np.abs(err).max())
print([float(np.float32(c)) for c in coef], 'max rel err', np.abs(err).max())
# f32 evaluation check incl. range reduction on a grid of x
c = [np.float32(v) for v in coef]
xs = np.linspace(-87.3, 0, 2_000_001).astype(np.float32)
f = np.float32
n = np.round(xs * f(1.44269504088896341)).astype(np.float32)
rr = (xs - n * f(0.693359375)) - n * f(-2.12194440e-4)
q = ((c[3] * rr + c[2]) * rr + c[1]) * rr + c[0]
p = (rr * rr * q + rr) + f(1)
res = (p * np.exp2(n.astype(np.float64)).astype(np.float32)).astype(np.float32)
exact = np.exp(xs.astype(np.float64))
ulp = np.spacing(exact.astype(np.float32)).astype(np.float64)
print('max ulp err', np.max(np.abs(res - exact) / ulp))
