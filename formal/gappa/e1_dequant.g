# E1: dequantization y^ = fl(fl(k * step) + offset) for a code k in 1..255 and float step, offset.
# Each rounding is relative <= u = 2^-24 (normal range): |fl(k step) - k step| <= u k step and
# |y^ - (p + offset)| <= u |p + offset| <= u/(1-u) |y^|, the terms of the E1 decode bound.
@rnd = float<ieee_32, ne>;
step = rnd(step_);
k = int<ne>(k_);
P = k * step;
p = rnd(P);
{ k in [1, 255] /\ step in [1b-60, 1b60] -> (p - P) / P in [-1b-24, 1b-24] }
