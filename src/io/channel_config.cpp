// The option table behind blip_config_set_* (see channel_config.h). Adding an option is one row.
#include "io/channel_config.h"

#include <blip/blip.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

namespace blip::io {

namespace {

enum class Type : std::uint8_t { kInt, kBool, kDouble, kString };

// A value after parsing, in the option's own type.
struct Parsed {
    std::uint64_t u = 0;
    double d = 0.0;
    bool b = false;
    std::string_view s;
};

using Setter = void (*)(ChannelConfig&, const Parsed&);

struct Option {
    std::string_view name;
    Type type;
    std::uint64_t min = 0;  // kInt
    std::uint64_t max = 0;
    double dmin = 0.0;  // kDouble
    double dmax = 0.0;
    Setter set;
    // kString options may refuse a value; returns an error message or "".
    std::string (*check)(std::string_view) = nullptr;
};

constexpr std::uint64_t kU32 = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint64_t kU64 = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t kIntMax = std::numeric_limits<int>::max();
constexpr std::uint64_t kSize = std::uint64_t{1} << 40;  // sizes: up to 1 TiB is "any"
constexpr std::uint64_t kHour_us = 3'600'000'000ULL;
constexpr std::uint64_t kDay_ms = 86'400'000ULL;

proto::Duration us(std::uint64_t v) { return std::chrono::microseconds(v); }
proto::Duration ms(std::uint64_t v) { return std::chrono::milliseconds(v); }

std::string check_join(std::string_view v) {
    return v == "next" || v == "recover" ? "" : "must be \"next\" or \"recover\"";
}

// "1,2,7" -> {1, 2, 7}; "" -> {} (all streams).
bool parse_streams(std::string_view v, std::vector<std::uint32_t>* out) {
    out->clear();
    while (!v.empty()) {
        const std::size_t comma = v.find(',');
        std::string_view item = v.substr(0, comma);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        std::uint32_t id = 0;
        const auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
        if (item.empty() || ec != std::errc() || p != item.data() + item.size()) return false;
        out->push_back(id);
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
        if (v.empty()) return false;  // trailing comma
    }
    return true;
}

std::string check_streams(std::string_view v) {
    std::vector<std::uint32_t> ids;
    return parse_streams(v, &ids) ? "" : "must be a comma-separated list of stream ids (0..2^32-1)";
}

#define INT_OPT(n, lo, hi, body)                                                     \
    Option {                                                                         \
        n, Type::kInt, lo, hi, 0, 0, [](ChannelConfig& c, const Parsed& p) { body; } \
    }
#define BOOL_OPT(n, body)                                                           \
    Option {                                                                        \
        n, Type::kBool, 0, 1, 0, 0, [](ChannelConfig& c, const Parsed& p) { body; } \
    }
#define STR_OPT(n, chk, body)                                                              \
    Option {                                                                               \
        n, Type::kString, 0, 0, 0, 0, [](ChannelConfig& c, const Parsed& p) { body; }, chk \
    }

// The table. Ranges here are per option; relations between options (e.g. heartbeat_min <=
// heartbeat_max) are checked by proto::validate() when the channel opens.
const Option kOptions[] = {
    STR_OPT("group", nullptr, c.group = std::string(p.s)),
    INT_OPT("port", 1, 65535, c.port = static_cast<std::uint16_t>(p.u)),
    STR_OPT("interface", nullptr, c.interface = std::string(p.s)),
    INT_OPT("ttl", 0, 255, c.ttl = static_cast<int>(p.u)),
    BOOL_OPT("loopback", c.loopback = p.b),
    BOOL_OPT("reuse_port", c.reuse_port = p.b),
    BOOL_OPT("segmentation_offload", c.segmentation_offload = p.b),
    INT_OPT("recv_buffer", 0, kIntMax / 2, c.recv_buffer = static_cast<int>(p.u)),
    INT_OPT("send_buffer", 0, kIntMax / 2, c.send_buffer = static_cast<int>(p.u)),
    INT_OPT("datagram_size", 128, 65000, c.endpoint.sender.datagram_size = p.u),
    INT_OPT("max_message_size", 1, kU32,
            c.endpoint.sender.max_message_size = c.endpoint.receiver.max_message_size = p.u),
    INT_OPT("stream", 0, kU32, c.stream = static_cast<std::uint32_t>(p.u)),
    STR_OPT("accept_streams", check_streams,
            parse_streams(p.s, &c.endpoint.receiver.accept_streams)),
    INT_OPT("window_bytes", 1, kSize, c.endpoint.sender.window_max_bytes = p.u),
    INT_OPT("window_messages", 1, kSize, c.endpoint.sender.window_max_messages = p.u),
    INT_OPT("send_queue_bytes", 1, kSize, c.endpoint.sender.queue_max_bytes = p.u),
    INT_OPT("send_queue_messages", 1, kSize, c.endpoint.sender.queue_max_messages = p.u),
    INT_OPT("rate_limit", 0, kU64 / 2, c.endpoint.sender.rate_limit = p.u),
    INT_OPT("repair_rate", 1, kU64 / 2, c.endpoint.sender.repair_rate = p.u),
    INT_OPT("repair_burst", 1, kSize, c.endpoint.sender.repair_burst = p.u),
    INT_OPT("repair_holdoff_us", 0, kHour_us, c.endpoint.sender.repair_holdoff = us(p.u)),
    INT_OPT("heartbeat_min_us", 1, kHour_us, c.endpoint.sender.heartbeat_min = us(p.u)),
    INT_OPT("heartbeat_max_us", 1, kHour_us, c.endpoint.sender.heartbeat_max = us(p.u)),
    BOOL_OPT("flow_control",
             c.endpoint.sender.flow_control = c.endpoint.receiver.send_status = p.b),
    INT_OPT("flow_timeout_ms", 1, kDay_ms, c.endpoint.sender.flow_timeout = ms(p.u)),
    STR_OPT("join", check_join,
            c.endpoint.receiver.join =
                p.s == "recover" ? proto::JoinPolicy::kRecover : proto::JoinPolicy::kNext),
    INT_OPT("reorder_buffer_bytes", 65507, kSize, c.endpoint.receiver.reorder_buffer_bytes = p.u),
    INT_OPT("nak_delay_min_us", 0, kHour_us, c.endpoint.receiver.nak_delay_min = us(p.u)),
    INT_OPT("nak_backoff_us", 0, kHour_us, c.endpoint.receiver.nak_backoff = us(p.u)),
    INT_OPT("repair_timeout_us", 1, kHour_us, c.endpoint.receiver.repair_timeout = us(p.u)),
    BOOL_OPT("adaptive_repair_timeout", c.endpoint.receiver.adaptive_repair_timeout = p.b),
    INT_OPT("repair_timeout_min_us", 1, kHour_us, c.endpoint.receiver.repair_timeout_min = us(p.u)),
    INT_OPT("nak_retry_max_us", 1, kHour_us, c.endpoint.receiver.nak_retry_max = us(p.u)),
    INT_OPT("nak_max_retries", 1, 1'000'000,
            c.endpoint.receiver.nak_max_retries = static_cast<std::uint32_t>(p.u)),
    INT_OPT("sender_timeout_ms", 1, kDay_ms, c.endpoint.receiver.sender_timeout = ms(p.u)),
    INT_OPT("sender_forget_ms", 1, kDay_ms, c.endpoint.receiver.sender_forget = ms(p.u)),
    INT_OPT("max_senders", 1, 1'000'000, c.endpoint.receiver.max_senders = p.u),
    INT_OPT("busy_poll_us", 0, 1'000'000, c.busy_poll = us(p.u)),
    INT_OPT("receive_queue_messages", 1, kSize, c.receive_queue_messages = p.u),
    INT_OPT("receive_queue_bytes", 1, kSize, c.receive_queue_bytes = p.u),
    INT_OPT("node_id", 0, kU64, c.endpoint.node_id = p.u),
    STR_OPT("node_name", nullptr, c.endpoint.node_id = p.s.empty() ? 0 : node_id_from_name(p.s)),
    INT_OPT("seed", 0, kU64, c.seed = p.u),
    Option{"inject_loss", Type::kDouble, 0, 0, 0.0, 1.0,
           [](ChannelConfig& c, const Parsed& p) { c.inject_loss = p.d; }},
    INT_OPT("inject_seed", 0, kU64, c.inject_seed = p.u),
};

#undef INT_OPT
#undef BOOL_OPT
#undef STR_OPT

const char* type_name(Type t) {
    switch (t) {
        case Type::kInt:
            return "an integer";
        case Type::kBool:
            return "a boolean";
        case Type::kDouble:
            return "a number";
        case Type::kString:
            return "a string";
    }
    return "?";
}

int fail(std::string* err, int code, std::string_view name, const std::string& why) {
    if (err != nullptr) *err = "option '" + std::string(name) + "': " + why;
    return code;
}

// Decimal or 0x-hexadecimal, the whole text, no sign.
bool parse_u64(std::string_view t, std::uint64_t* out) {
    int base = 10;
    if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
        t.remove_prefix(2);
        base = 16;
    }
    const auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), *out, base);
    return !t.empty() && ec == std::errc() && p == t.data() + t.size();
}

bool parse_bool(std::string_view t, bool* out) {
    for (std::string_view yes : {"1", "true", "yes", "on"}) {
        if (t == yes) return *out = true;
    }
    for (std::string_view no : {"0", "false", "no", "off"}) {
        if (t == no) {
            *out = false;
            return true;
        }
    }
    return false;
}

bool parse_double(std::string_view t, double* out) {
    const std::string copy(t);  // strtod needs a terminator
    char* end = nullptr;
    *out = std::strtod(copy.c_str(), &end);
    return !copy.empty() && end == copy.c_str() + copy.size();
}

}  // namespace

std::uint64_t node_id_from_name(std::string_view name) noexcept {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (const char ch : name) {
        h ^= static_cast<unsigned char>(ch);
        h *= 0x100000001b3ULL;
    }
    return h != 0 ? h : 1;
}

int set_option(ChannelConfig& cfg, std::string_view name, const OptionValue& v, std::string* err) {
    const Option* opt = nullptr;
    for (const Option& o : kOptions) {
        if (o.name == name) opt = &o;
    }
    if (opt == nullptr) return fail(err, BLIP_ENOTSUP, name, "no such option");
    using K = OptionValue::Kind;
    const auto wrong_type = [&] {
        return fail(err, BLIP_EINVAL, name, std::string("is ") + type_name(opt->type));
    };
    Parsed p;
    switch (opt->type) {
        case Type::kInt: {
            if (v.kind == K::kInt) {
                if (v.i < 0) {
                    return fail(err, BLIP_EINVAL, name,
                                std::to_string(v.i) + " is out of range " +
                                    std::to_string(opt->min) + ".." + std::to_string(opt->max));
                }
                p.u = static_cast<std::uint64_t>(v.i);
            } else if (v.kind == K::kText) {
                if (!parse_u64(v.text, &p.u)) {
                    return fail(err, BLIP_EINVAL, name,
                                "\"" + std::string(v.text) + "\" is not a non-negative integer");
                }
            } else {
                return wrong_type();
            }
            if (p.u < opt->min || p.u > opt->max) {
                return fail(err, BLIP_EINVAL, name,
                            std::to_string(p.u) + " is out of range " + std::to_string(opt->min) +
                                ".." + std::to_string(opt->max));
            }
            break;
        }
        case Type::kBool:
            if (v.kind == K::kBool) {
                p.b = v.b;
            } else if (v.kind == K::kInt) {
                if (v.i != 0 && v.i != 1) {
                    return fail(err, BLIP_EINVAL, name, std::to_string(v.i) + " is not 0 or 1");
                }
                p.b = v.i == 1;
            } else if (v.kind == K::kText) {
                if (!parse_bool(v.text, &p.b)) {
                    return fail(
                        err, BLIP_EINVAL, name,
                        "\"" + std::string(v.text) + "\" is not a boolean (1/0, true/false)");
                }
            } else {
                return wrong_type();
            }
            break;
        case Type::kDouble:
            if (v.kind == K::kDouble) {
                p.d = v.d;
            } else if (v.kind == K::kInt) {
                p.d = static_cast<double>(v.i);
            } else if (v.kind == K::kText) {
                if (!parse_double(v.text, &p.d)) {
                    return fail(err, BLIP_EINVAL, name,
                                "\"" + std::string(v.text) + "\" is not a number");
                }
            } else {
                return wrong_type();
            }
            // Written so that NaN fails.
            if (!(p.d >= opt->dmin && p.d <= opt->dmax)) {
                return fail(err, BLIP_EINVAL, name,
                            std::to_string(p.d) + " is out of range " + std::to_string(opt->dmin) +
                                ".." + std::to_string(opt->dmax));
            }
            break;
        case Type::kString:
            if (v.kind != K::kText) return wrong_type();
            p.s = v.text;
            if (opt->check != nullptr) {
                if (std::string why = opt->check(p.s); !why.empty()) {
                    return fail(err, BLIP_EINVAL, name, "\"" + std::string(p.s) + "\" " + why);
                }
            }
            break;
    }
    opt->set(cfg, p);
    return BLIP_OK;
}

}  // namespace blip::io
