// What paper_check.cc and paper_downstream.cc share.
#pragma once

#include <functional>
#include <vector>

#include "deltapq/app/paper_check.h"
#include "deltapq/model/llama2.h"

namespace dpq::app::detail {

// The downstream check on `tokens` (BOS first): per budget KV alone, KQV versus KV and QKQV versus KQV
// on the same tokens, and findings 1 and 2 judged on the model's NLL; `tick` after each budget.
Downstream run_downstream(const PaperCheckOptions::ModelInput& in, model::Llama2& llm, const std::vector<int>& tokens,
                          const std::vector<int>& budgets, const std::function<void()>& tick);

}  // namespace dpq::app::detail
