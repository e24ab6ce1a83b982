// Writes a whole file or nothing: the content goes to a temporary next to the target, which is
// renamed into place only when every byte is written (E2: no half-written output on failure).
#pragma once

#include <string>

namespace dpq {

// Throws dpq::Error naming the path when it cannot write or rename.
void write_file_atomically(const std::string& path, const std::string& content);

}  // namespace dpq
