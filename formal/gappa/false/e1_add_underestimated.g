# Expected to FAIL (a test of the formal harness): a float32 addition is NOT accurate to u/2.
@rnd = float<ieee_32, ne>;
a = rnd(a_);
b = rnd(b_);
x = a + b;
r = rnd(x);
{ |x| in [1b-100, 1b100] -> (r - x) / x in [-1b-25, 1b-25] }
