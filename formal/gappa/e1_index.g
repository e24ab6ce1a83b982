# E1: the float32 index computation t = fl(s * fl(1/step)) against the exact s / step, for a float
# sum s and a float step, in the range where the index matters (t* in [2^-10, 2^9] covers every
# boundary 1..255 of the 1..8-bit codes). Relative error <= 2u + u^2 with u = 2^-24: the
# (1+u)^2 factor and the |t*| (2u + u^2) term of proofs-notes/E1.md.
@rnd = float<ieee_32, ne>;
s = rnd(s_);
step = rnd(step_);
inv = rnd(1 / step);
t = rnd(s * inv);
T = s / step;
I = 1 / step;
{ s in [1b-60, 1b60] /\ step in [1b-60, 1b60] /\ T in [1b-10, 1b9]
  -> (t - T) / T in [-0x1.000001p-23, 0x1.000001p-23] }

# Hint: split the error into the product's rounding and the reciprocal's rounding.
(t - T) / T -> ((t - s * inv) / (s * inv)) * (1 + (inv - I) / I) + (inv - I) / I { s * inv <> 0, I <> 0, s <> 0 };
