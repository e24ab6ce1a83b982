# E1: one float32 addition of two floats, relative error <= u = 2^-24 away from underflow
# (the kernel's y' + shift and the decode's fl(k step) + offset).
@rnd = float<ieee_32, ne>;
a = rnd(a_);
b = rnd(b_);
x = a + b;
r = rnd(x);
{ |x| in [1b-100, 1b100] -> (r - x) / x in [-1b-24, 1b-24] }
