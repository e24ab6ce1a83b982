// The one place where reports become JSON and text. The CLI prints these; the Python module returns
// the JSON as a dict, so both show the same content.
#pragma once

#include <ostream>
#include <string>

#include "deltapq/app/audit.h"
#include "deltapq/app/codebook.h"
#include "deltapq/app/eval_nll.h"
#include "deltapq/app/kvdump.h"
#include "deltapq/app/paper_check.h"
#include "deltapq/app/stream_audit.h"

namespace dpq::app {

// JSON documents (indented by 2, ending in a newline).
std::string to_json(const AuditReport& r);
std::string to_json(const StreamAuditReport& r);
std::string to_json(const EvalNllReport& r);
std::string to_json(const EvalNllSweep& s);  // runs (each with its text) and the per-bit-width summary
std::string to_json(const PaperCheckReport& r);
std::string to_json(const CodebookReport& r);
std::string to_json(const CodebookCheckReport& r);

// The human-readable reports.
void print_text(const AuditReport& r, std::ostream& os);
void print_text(const StreamAuditReport& r, std::ostream& os);
void print_text(const EvalNllReport& r, std::ostream& os);
void print_text(const EvalNllSweep& s, std::ostream& os);
void print_text(const PaperCheckReport& r, std::ostream& os);
void print_text(const CodebookReport& r, std::ostream& os);
void print_text(const CodebookCheckReport& r, std::ostream& os);
void print_text(const KvDumpReport& r, std::ostream& os);

}  // namespace dpq::app
