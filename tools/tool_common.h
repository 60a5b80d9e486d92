// tool_common.h - what the command-line tools share: argument cursor, channel options, error
// reports, clocks. Uses only the public C API (<blip/blip.h>), never the library's internals.
#pragma once

#include <blip/blip.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tools {

/// Walks argv; accepts both "--name value" and "--name=value". Bad usage exits with status 2.
class Args {
public:
    Args(const char* prog, int argc, char** argv) : prog_(prog), argc_(argc), argv_(argv) {}

    [[nodiscard]] bool done() const { return i_ >= argc_; }
    [[nodiscard]] const char* current() const { return argv_[i_]; }
    void next() { ++i_; }

    /// True (and moves on) if the current argument is the flag `name`.
    bool flag(const char* name);
    /// True (and moves on) if the current argument is option `name`; its value goes to *value.
    bool option(const char* name, const char** value);
    /// As option(), parsed as an unsigned integer in [min, max] (decimal or 0x hex).
    bool option_u64(const char* name, std::uint64_t* value, std::uint64_t min = 0,
                    std::uint64_t max = UINT64_MAX);
    /// As option(), parsed as a double in [min, max].
    bool option_double(const char* name, double* value, double min, double max);

    /// Reports an unknown argument and exits 2.
    [[noreturn]] void unknown() const;
    /// Reports a usage error and exits 2.
    [[noreturn]] void error(const std::string& msg) const;

private:
    const char* prog_;
    int argc_;
    char** argv_;
    int i_ = 1;
};

/// The options every tool takes to name its channel.
struct ChannelArgs {
    std::string group = "239.255.0.1";
    std::string port = "5000";
    std::string interface;  // required: Blip never guesses it, and neither do the tools
    std::vector<std::pair<std::string, std::string>> sets;  // --set name=value, in order

    /// True (and moves on) if the current argument is --group, --port, --interface or --set.
    bool parse(Args& args);
    /// "239.1.2.3:5000 on lo", "[ff12::1]:5000 on veth0": for messages.
    [[nodiscard]] std::string where() const;
};

/// The --help lines for ChannelArgs.
extern const char* const kChannelHelp;

/// Prints "PROG: usage error: MSG (try --help)" and exits 2.
[[noreturn]] void usage_error(const char* prog, const std::string& msg);

/// Prints "PROG: WHAT: <strerror> (<err name>): <config error>" and exits 1.
[[noreturn]] void fail(const char* prog, const std::string& what, int err,
                       const blip_config_t* cfg = nullptr);

/// Builds a pull-mode config from the channel options. Without --interface, prints an error
/// listing this host's interfaces and exits 2; a refused option exits 1 through fail().
blip_config_t* make_config(const char* prog, const ChannelArgs& ch);

/// CLOCK_MONOTONIC in nanoseconds: the same clock in every process of this host.
std::uint64_t monotonic_ns();

/// Parses an unsigned integer (decimal or 0x hex) filling the whole string.
bool parse_u64(const char* text, std::uint64_t* value);

}  // namespace tools
