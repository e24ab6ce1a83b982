/* The deltapq gate plugin ABI, version 1 (C; installed with the library).
 *
 * A plugin is a shared library wrapping the user's quantizer kernel. `deltapq gate --plugin LIB.so`
 * loads it, asks it what it implements (dpq_gate_info_v1), drives its encode (and decode, when given)
 * with RapidCheck-generated batches that mix random rows with edge cases, and compares every output
 * with the reference under the acceptance rule of proofs-notes/G1.md. A failure is shrunk to a minimal
 * batch and printed with the seed that reproduces it (--seed N).
 *
 * The plugin declares its whole design as deltapq-design JSON (the schema in deltapq/app/gate.h, the
 * same file `deltapq vectors` writes as design.json); family, dim and bits are repeated as fields
 * so a mismatch with the JSON is caught before any call.
 *
 * Buffers (row-major, contiguous, owned by deltapq, valid only during the call):
 *   x              float32 [n, dim]                     the inputs (may hold NaN, Inf, subnormals, +-0)
 *   codes          int32   [n, c]   c = dim (scalar, turbo) or blocks (pq); one unpacked code each
 *   norms          float32 [n]      turbo only (NULL otherwise): the stored ||x||
 *   qjl_signs      uint8   [n, m]   turbo with a QJL stage (NULL otherwise): 1 when (S r)_j >= 0, else 0
 *   residual_norms float32 [n]      turbo with a QJL stage (NULL otherwise): ||r||
 *   refused        uint8   [n]      set to 1 for a row the kernel refuses (a non-finite value must be
 *                                   refused; a row whose float32 arithmetic overflows may be); the
 *                                   row's other outputs are then ignored
 *   out            float32 [n, dim] dpq_gate_decode_v1's reconstruction
 * deltapq fills outputs with sentinels before each call, so an output the kernel forgets to write is
 * reported, not read as garbage. Each call runs in a child process: a crash, a hang (beyond
 * --timeout seconds) or a nonzero return is reported as a failure of that batch and shrunk like any
 * other. Calls come from one thread; a plugin need not be reentrant.
 */
#ifndef DELTAPQ_GATE_PLUGIN_H
#define DELTAPQ_GATE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DPQ_GATE_ABI_VERSION 1

#if defined(__GNUC__)
#define DPQ_GATE_EXPORT __attribute__((visibility("default")))
#else
#define DPQ_GATE_EXPORT
#endif

typedef struct dpq_gate_info {
  uint32_t abi_version;    /* DPQ_GATE_ABI_VERSION */
  const char* name;        /* shown in the report, e.g. "my-kv-kernel 2.3 (avx512)" */
  const char* family;      /* "scalar", "turbo" or "pq" */
  int32_t dim;             /* must equal the design's dim */
  int32_t bits;            /* must equal the design's bits (scalar: the widest coordinate's bits) */
  const char* design_json; /* the deltapq-design JSON of what the kernel implements */
  int32_t has_decode;      /* 1: dpq_gate_decode_v1 is exported and should be checked */
} dpq_gate_info;

/* Required: a pointer to static storage, valid for the library's lifetime. */
DPQ_GATE_EXPORT const dpq_gate_info* dpq_gate_info_v1(void);

/* Required: encode n rows. Returns 0 on success; anything else fails the batch. */
DPQ_GATE_EXPORT int dpq_gate_encode_v1(const float* x, size_t n, int32_t* codes, float* norms, uint8_t* qjl_signs,
                                       float* residual_norms, uint8_t* refused);

/* Optional (has_decode = 1): reconstruct n records (the outputs of dpq_gate_encode_v1) to float32
 * rows. Returns 0 on success; anything else fails the batch. */
DPQ_GATE_EXPORT int dpq_gate_decode_v1(const int32_t* codes, const float* norms, const uint8_t* qjl_signs,
                                       const float* residual_norms, size_t n, float* out);

#ifdef __cplusplus
}
#endif

#endif /* DELTAPQ_GATE_PLUGIN_H */
