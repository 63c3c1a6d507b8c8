// Text forms behind <respool/format.hpp>'s formatters.
#include <respool/format.hpp>

#include <sstream>

#include "pool_core_internal.hpp"
#include "printable.hpp"

namespace respool {

std::string to_string(const Distribution& d)
{
    using detail::format_duration;
    // Must match the distributions inside to_string(PoolStats) (stats.cpp).
    if (d.count == 0) return "-";
    return fmt::format("p50 {} p99 {} max {} (n={})", format_duration(d.p50), format_duration(d.p99),
                       format_duration(d.max), d.count);
}

std::string to_string(const LeaseInfo& lease) { return describe(lease); }

std::string_view to_string(AcquirePhase phase) noexcept
{
    switch (phase) {
    case AcquirePhase::queued: return "queued";
    case AcquirePhase::creating: return "creating";
    case AcquirePhase::validating: return "validating";
    }
    return "unknown";
}

namespace {

// " at file.cpp:42 by thread N", for events that concern a lease.
std::string lease_suffix(const Event& e)
{
    std::string out;
    if (e.site.line() != 0) out += fmt::format(" at {}", format_site(e.site));
    if (e.thread != std::thread::id{}) {
        std::ostringstream thread;
        thread << e.thread;
        out += fmt::format(" by thread {}", thread.str());
    }
    return out;
}

// Multi-line messages (a timeout lists the holders, one a line) are folded
// into one line, so a log line stays one line: "a\n  b" becomes "a; b",
// "holders:\n  x" becomes "holders: x".
std::string one_line(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\n' && text[i] != '\r') {
            out += text[i];
            continue;
        }
        while (i + 1 < text.size() && (text[i + 1] == '\n' || text[i + 1] == '\r' || text[i + 1] == ' ')) ++i;
        if (i + 1 < text.size()) out += !out.empty() && out.back() == ':' ? " " : "; ";
    }
    return out;
}

std::string message_suffix(const Event& e)
{
    return e.message.empty() ? std::string() : ": " + one_line(e.message);
}

// The line before output hygiene (see to_string below).
std::string raw_text(const Event& e)
{
    using detail::format_duration;
    const std::string head = fmt::format("[{}] ", e.pool);
    switch (e.kind) {
    case EventKind::created:
        return fmt::format("{}resource #{} created in {}", head, e.resource_id, format_duration(e.duration));
    case EventKind::create_failed:
        return fmt::format("{}create failed after {}{}", head, format_duration(e.duration), message_suffix(e));
    case EventKind::destroyed:
        return fmt::format("{}resource #{} destroyed ({})", head, e.resource_id, to_string(e.reason));
    case EventKind::validation_failed:
        return fmt::format("{}resource #{} failed validation{}", head, e.resource_id, message_suffix(e));
    case EventKind::acquire_timeout:
        return fmt::format("{}acquire timed out after {}{}{}", head, format_duration(e.duration), lease_suffix(e),
                           message_suffix(e));
    case EventKind::leak_suspected:
        return fmt::format("{}suspected leak: resource #{} held {}{}", head, e.resource_id,
                           format_duration(e.duration), lease_suffix(e));
    case EventKind::leak_returned:
        return fmt::format("{}reported leak returned: resource #{} held {}{}", head, e.resource_id,
                           format_duration(e.duration), lease_suffix(e));
    case EventKind::leak_at_close:
        return fmt::format("{}lease never returned at close: resource #{} held {}{}", head, e.resource_id,
                           format_duration(e.duration), lease_suffix(e));
    case EventKind::lease_overdue:
        return fmt::format("{}lease overdue (past max_lease_time without a heartbeat): resource #{} held {}{}", head,
                           e.resource_id, format_duration(e.duration), lease_suffix(e));
    case EventKind::lease_reclaimed:
        return fmt::format("{}overdue lease reclaimed: resource #{} held {}{}", head, e.resource_id,
                           format_duration(e.duration), lease_suffix(e));
    case EventKind::circuit_opened:
        return fmt::format("{}circuit opened: creation keeps failing, acquires fail fast{}", head, message_suffix(e));
    case EventKind::circuit_closed:
        return fmt::format("{}circuit closed: creation works again{}", head, message_suffix(e));
    case EventKind::keepalive_failed:
        return fmt::format("{}resource #{} failed its keepalive validation{}", head, e.resource_id, message_suffix(e));
    case EventKind::pool_closed:
        return fmt::format("{}pool closed", head);
    }
    // A kind added after this function was written still prints something useful.
    return fmt::format("{}{} resource #{}{}", head, to_string(e.kind), e.resource_id, message_suffix(e));
}

} // namespace

// One line whatever the pool name or a server's message holds: newlines,
// ESC sequences and bytes that are not UTF-8 are shown escaped (printable.hpp).
std::string to_string(const Event& e) { return detail::printable(raw_text(e)); }

} // namespace respool
