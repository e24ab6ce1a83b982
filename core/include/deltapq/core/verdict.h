// The three-way verdict of deltapq, shared by every layer. A verdict says "holds" or "fails" only
// when the margin exceeds the combined certified error (or, for a statement about the source, the
// confidence interval); otherwise "undecided". No tolerance is picked by hand.
#pragma once

namespace dpq {

enum class Verdict { holds, fails, undecided };

inline const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::holds: return "holds";
    case Verdict::fails: return "fails";
    default: return "undecided";
  }
}

}  // namespace dpq
