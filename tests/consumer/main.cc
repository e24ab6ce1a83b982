// Uses one thing from each layer through the installed headers: the fast codec, a reference bound, and
// the audit workflow of the application layer. Exit 0 when all three behave.
#include <cstdio>
#include <vector>

#include "deltapq/app/audit.h"
#include "deltapq/core/synth.h"
#include "deltapq/fast/codec.h"
#include "deltapq/fast/sphere_codebooks.h"
#include "deltapq/reference/quantizer.h"

int main() {
  dpq::fast::FastDesign design;
  design.bits = {4, 4};
  design.clip = {1.0f, 1.0f};
  const dpq::fast::Codec codec(design);
  const float x[2] = {0.0f, 0.99f};
  unsigned char code[1];
  codec.encode(x, 1, code);
  if (code[0] != (8 | (15 << 4))) return 1;  // 0 is on a boundary: the upper cell, 8
  if (!dpq::fast::shipped_sphere_codebook(128, 4)) return 2;
  if (dpq::ref::quantize_index(dpq::ref::Real(0), dpq::ref::Real(1), 4) != 8) return 3;
  dpq::SyntheticStreamParams p;
  p.tokens = 64;
  p.dim = 3;
  const dpq::app::AuditReport r = dpq::app::run_audit(dpq::synthetic_stream(p), p.tokens, p.dim, {}, "<synthetic>");
  if (r.theorems.empty()) return 4;
  std::printf("consumer: fast codec, reference and audit workflow OK (%zu claims checked)\n", r.theorems.size());
  return 0;
}
