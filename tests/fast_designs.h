// Designs the fast-path tests share.
#pragma once

#include <cstddef>

#include "deltapq/fast/codec.h"

namespace dpq::testing {

// The identity basis, every coordinate b bits and clip c.
inline fast::FastDesign identity(std::size_t d, int bits, float clip) {
  fast::FastDesign ds;
  ds.clip.assign(d, clip);
  ds.bits.assign(d, bits);
  return ds;
}

}  // namespace dpq::testing
