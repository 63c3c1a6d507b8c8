// libFuzzer target for the PostgreSQL adapter's conninfo parser
// (adapters/pg/src/conninfo.cpp): whatever string a user configures, the
// parser never crashes and throws nothing but respool::InvalidOptions; what
// it accepts, describe_params prints in a form that parses back to the same
// parameters; and a password placed in the string (URI user info or a quoted
// key=value) never shows, whole or in pieces of 8 characters, in an error
// message or in the description. Built and run by tests/pg/run_fuzz.sh.
//
// Input layout: byte 0 picks the mode (0 raw, 1 URI, 2 key=value), byte 1 the
// password's length; the password's bytes are mapped to an alphabet without
// lowercase letters, digits or '?' (an unencoded '?' ends a URI's user info,
// as in libpq), the rest to one without uppercase letters, so an echo of the
// rest can never be mistaken for a piece of the password.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <respool/error.hpp>

#include "conninfo.hpp"

using namespace respool::pg::detail;

namespace {

void check(bool ok)
{
    if (!ok) std::abort();
}

constexpr std::string_view secret_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ@/:!#$&*+,;=[]^_|~-.'\\ %";
constexpr std::string_view rest_alphabet = "abcdefghijklmnopqrstuvwxyz= '\\?&/:@,[]%\t\n";

std::string mapped(const std::uint8_t* data, std::size_t size, std::string_view alphabet)
{
    std::string out;
    for (std::size_t i = 0; i < size; ++i) out += alphabet[data[i] % alphabet.size()];
    return out;
}

bool shows_piece(std::string_view text, std::string_view secret)
{
    constexpr std::size_t piece = 8;
    for (std::size_t at = 0; at + piece <= secret.size(); ++at) {
        std::string_view part = secret.substr(at, piece);
        // Only pieces with a letter: the rest may hold the same punctuation.
        bool letter = part.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos;
        if (letter && text.find(part) != std::string_view::npos) return true;
    }
    return false;
}

ParamList shown(ParamList params)
{
    for (auto& [k, v] : params)
        if (is_secret_key(k)) v = "***";
    return params;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 2 || size > 4096) return 0;
    int mode = data[0] % 3;
    std::size_t secret_size = std::min<std::size_t>(8 + data[1] % 40, size - 2);
    std::string secret = mode == 0 ? "" : mapped(data + 2, secret_size, secret_alphabet);
    std::string text;
    if (mode == 0) {
        text.assign(reinterpret_cast<const char*>(data + 2), size - 2);
    } else {
        std::string rest = mapped(data + 2 + secret_size, size - 2 - secret_size, rest_alphabet);
        if (mode == 1) {
            text = "postgresql://u:" + secret + "@" + rest;
        } else {
            std::string quoted;
            for (char c : secret) {
                if (c == '\'' || c == '\\') quoted += '\\';
                quoted += c;
            }
            text = "password='" + quoted + "' " + rest;
        }
    }

    ParamList params;
    try {
        params = parse_conninfo(text);
    } catch (const respool::InvalidOptions& e) {
        check(e.field() == "conninfo");
        if (!secret.empty()) check(!shows_piece(e.what(), secret));
        return 0;
    } catch (...) {
        check(false);  // anything else escapes the Adapter constructor's contract
    }

    std::string described = describe_params(params);
    if (!secret.empty()) check(!shows_piece(described, secret));
    try {
        check(parse_conninfo(described) == shown(params));
    } catch (...) {
        check(false);  // the description must parse back
    }

    // Scrubbing: the secret's beginning or end, as a shortened statement shows it.
    if (secret.size() >= min_piece_length) {
        for (std::size_t n = min_piece_length; n <= secret.size(); ++n) {
            std::string head = redact("LINE 1: ...'" + secret.substr(0, n) + "x", {secret});
            std::string tail = redact("x" + secret.substr(secret.size() - n) + "...", {secret});
            check(head.find(secret.substr(0, n)) == std::string::npos);
            check(tail.find(secret.substr(secret.size() - n)) == std::string::npos);
        }
    }
    return 0;
}
