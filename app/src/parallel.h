// Internal: two independent parts of one workflow on two threads (OpenMP), with the errors a sequential
// run would raise: a's first, then b's. Results must not depend on which thread ran what (every part
// writes only its own outputs), so a report is the same bytes for any --jobs.
#pragma once

#include <exception>

namespace dpq::app::detail {

template <class A, class B>
void run_both(int jobs, A&& a, B&& b) {
  std::exception_ptr ea, eb;
#pragma omp parallel sections num_threads(jobs >= 2 ? 2 : 1)
  {
#pragma omp section
    {
      try {
        a();
      } catch (...) {
        ea = std::current_exception();
      }
    }
#pragma omp section
    {
      try {
        b();
      } catch (...) {
        eb = std::current_exception();
      }
    }
  }
  if (ea) std::rethrow_exception(ea);
  if (eb) std::rethrow_exception(eb);
}

}  // namespace dpq::app::detail
