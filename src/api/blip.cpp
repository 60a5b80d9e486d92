// blip.cpp - the C shim behind blip.h and blip_uv.h: validate arguments, check handle tags,
// call into src/io, map results. Every extern "C" function is noexcept and catches everything:
// no exception crosses the C boundary.
#include <blip/blip.h>
#include <blip/blip_uv.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <span>
#include <string>
#include <utility>

#include "api/handles.h"
#include "common/errors.h"
#include "common/version.h"

namespace {

using blip::io::Channel;
using blip::io::ChannelEvent;
using blip::io::EventLoop;
using blip::io::OptionValue;

template <class T>
bool valid(const T* h, std::uint32_t tag) noexcept {
    return h != nullptr && h->tag == tag;
}

// Runs `f`, turning any exception into an error code.
template <class F>
int guarded(F&& f) noexcept {
    try {
        return f();
    } catch (const std::bad_alloc&) {
        return BLIP_ENOMEM;
    } catch (...) {
        return BLIP_EINTERNAL;
    }
}

// `payload` is the message's data: the event's own in pull mode, beside it in callback mode.
blip_event_info_t to_info(const ChannelEvent& e, std::span<const std::uint8_t> payload) noexcept {
    blip_event_info_t info;
    std::memset(&info, 0, sizeof info);
    info.size = sizeof info;
    info.type = e.type;
    info.reason = e.reason;
    info.node_id = e.from.node;
    info.session_id = e.from.session;
    info.stream_id = e.from.stream;
    info.open_ended = e.open_ended ? 1 : 0;
    info.sequence = e.sequence;
    info.count = e.count;
    info.old_session_id = e.old_session;
    info.data = payload.empty() ? nullptr : payload.data();
    info.length = payload.size();
    info.error = e.error;
    info.text = e.text.empty() && e.type != BLIP_EVENT_SOCKET_ERROR && e.type != BLIP_EVENT_WARNING
                    ? nullptr
                    : e.text.c_str();
    info.suppressed = e.suppressed;
    return info;
}

int set_option(blip_config_t* cfg, const char* name, const OptionValue& v) {
    if (!valid(cfg, blip::api::kConfigTag)) return BLIP_EINVAL;
    if (name == nullptr) {
        cfg->error = "option name is NULL";
        return BLIP_EINVAL;
    }
    std::string err;
    blip::io::ChannelConfig updated = cfg->cfg;  // all or nothing
    const int rc = blip::io::set_option(updated, name, v, &err);
    if (rc != BLIP_OK) {
        cfg->error = std::move(err);
        return rc;
    }
    cfg->cfg = std::move(updated);
    cfg->error.clear();
    return BLIP_OK;
}

int create_context(std::unique_ptr<EventLoop> loop, blip_context_t** out) {
    auto* ctx = new (std::nothrow) blip_context;
    if (ctx == nullptr) return BLIP_ENOMEM;
    ctx->loop = std::move(loop);
    *out = ctx;
    return BLIP_OK;
}

bool channel_usable(const blip_channel_t* ch) noexcept {
    return valid(ch, blip::api::kChannelTag) && ch->ch != nullptr;
}

const std::vector<std::string_view>* stat_table(int scope) {
    if (scope == BLIP_STATS_CHANNEL) return &Channel::stat_names();
    if (scope == BLIP_STATS_REMOTE) return &Channel::remote_stat_names();
    return nullptr;
}

}  // namespace

extern "C" {

// ---- errors, version -------------------------------------------------------------------------

const char* blip_strerror(int err) noexcept { return blip::error_message(err); }

const char* blip_err_name(int err) noexcept { return blip::error_name(err); }

const char* blip_version() noexcept { return blip::version_string(); }

int blip_version_number() noexcept { return BLIP_VERSION_NUMBER; }

// ---- events ----------------------------------------------------------------------------------

const char* blip_event_type_name(int type) noexcept {
    switch (type) {
        case BLIP_EVENT_MESSAGE:
            return "message";
        case BLIP_EVENT_LOSS:
            return "loss";
        case BLIP_EVENT_SENDER_NEW:
            return "sender_new";
        case BLIP_EVENT_SENDER_RESTARTED:
            return "sender_restarted";
        case BLIP_EVENT_SENDER_INACTIVE:
            return "sender_inactive";
        case BLIP_EVENT_SENDER_ACTIVE:
            return "sender_active";
        case BLIP_EVENT_SENDER_REMOVED:
            return "sender_removed";
        case BLIP_EVENT_OVERRUN:
            return "overrun";
        case BLIP_EVENT_SOCKET_ERROR:
            return "socket_error";
        case BLIP_EVENT_WARNING:
            return "warning";
        default:
            return "unknown";
    }
}

const char* blip_loss_reason_name(int reason) noexcept {
    switch (reason) {
        case BLIP_LOSS_LEFT_WINDOW:
            return "left_window";
        case BLIP_LOSS_SENDER_GONE:
            return "sender_gone";
        case BLIP_LOSS_GAVE_UP:
            return "gave_up";
        case BLIP_LOSS_REJECTED:
            return "rejected";
        default:
            return "unknown";
    }
}

int blip_event_get_info(const blip_event_t* ev, blip_event_info_t* info) noexcept {
    if (!valid(ev, blip::api::kEventTag) || info == nullptr) return BLIP_EINVAL;
    if (info->size < sizeof(blip_event_info_t)) return BLIP_EINVAL;  // v1 is the minimum
    const blip_event_info_t full = to_info(*ev->ev, ev->ev->data);
    const std::size_t n = std::min(info->size, sizeof full);
    std::memcpy(info, &full, n);
    info->size = n;
    return BLIP_OK;
}

int blip_event_free(blip_event_t* ev) noexcept {
    if (!valid(ev, blip::api::kEventTag)) return BLIP_EINVAL;
    ev->tag = blip::api::kDeadTag;
    delete ev;
    return BLIP_OK;
}

// ---- configuration ---------------------------------------------------------------------------

int blip_config_create(blip_config_t** out) noexcept {
    if (out == nullptr) return BLIP_EINVAL;
    auto* cfg = new (std::nothrow) blip_config;
    if (cfg == nullptr) return BLIP_ENOMEM;
    *out = cfg;
    return BLIP_OK;
}

int blip_config_destroy(blip_config_t* cfg) noexcept {
    if (!valid(cfg, blip::api::kConfigTag)) return BLIP_EINVAL;
    cfg->tag = blip::api::kDeadTag;
    delete cfg;
    return BLIP_OK;
}

int blip_config_set_string(blip_config_t* cfg, const char* name, const char* value) noexcept {
    return guarded([&] {
        if (value == nullptr && valid(cfg, blip::api::kConfigTag)) {
            cfg->error = "option value is NULL";
            return BLIP_EINVAL;
        }
        OptionValue v;
        v.kind = OptionValue::Kind::kText;
        if (value != nullptr) v.text = value;
        return set_option(cfg, name, v);
    });
}

int blip_config_set_int(blip_config_t* cfg, const char* name, int64_t value) noexcept {
    return guarded([&] {
        OptionValue v;
        v.kind = OptionValue::Kind::kInt;
        v.i = value;
        return set_option(cfg, name, v);
    });
}

int blip_config_set_double(blip_config_t* cfg, const char* name, double value) noexcept {
    return guarded([&] {
        OptionValue v;
        v.kind = OptionValue::Kind::kDouble;
        v.d = value;
        return set_option(cfg, name, v);
    });
}

int blip_config_set_bool(blip_config_t* cfg, const char* name, int value) noexcept {
    return guarded([&] {
        OptionValue v;
        v.kind = OptionValue::Kind::kBool;
        v.b = value != 0;
        return set_option(cfg, name, v);
    });
}

int blip_config_set_callback(blip_config_t* cfg, blip_event_fn fn, void* user) noexcept {
    if (!valid(cfg, blip::api::kConfigTag)) return BLIP_EINVAL;
    cfg->cb = fn;
    cfg->user = user;
    cfg->error.clear();
    return BLIP_OK;
}

const char* blip_config_error(const blip_config_t* cfg) noexcept {
    if (!valid(cfg, blip::api::kConfigTag)) return "";
    return cfg->error.c_str();
}

// ---- context ---------------------------------------------------------------------------------

int blip_context_create(blip_context_t** out) noexcept {
    if (out == nullptr) return BLIP_EINVAL;
    return guarded([&] {
        std::unique_ptr<EventLoop> loop;
        if (const int rc = EventLoop::start_thread(&loop, nullptr); rc != BLIP_OK) return rc;
        return create_context(std::move(loop), out);
    });
}

int blip_context_create_uv(uv_loop_t* uv, blip_context_t** out) noexcept {
    if (uv == nullptr || out == nullptr) return BLIP_EINVAL;
    return guarded([&] {
        std::unique_ptr<EventLoop> loop;
        if (const int rc = EventLoop::attach(uv, &loop, nullptr); rc != BLIP_OK) return rc;
        return create_context(std::move(loop), out);
    });
}

int blip_context_destroy(blip_context_t* ctx) noexcept {
    if (!valid(ctx, blip::api::kContextTag)) return BLIP_EINVAL;
    EventLoop& loop = *ctx->loop;
    if (loop.owns_thread() ? loop.on_loop_thread() : !loop.on_loop_thread()) return BLIP_ESTATE;
    if (ctx->callback_depth > 0) return BLIP_ESTATE;  // embedded: from inside a callback
    return guarded([&] {
        {
            std::lock_guard<std::mutex> lock(ctx->mu);
            ctx->destroying = true;
        }
        loop.stop([ctx] {
            for (auto& ch : ctx->channels) {
                if (ch->ch && !ch->ch->closed()) ch->ch->close();
            }
        });
        for (auto& ch : ctx->channels) ch->tag = blip::api::kDeadTag;
        ctx->channels.clear();
        ctx->loop.reset();
        ctx->tag = blip::api::kDeadTag;
        delete ctx;
        return BLIP_OK;
    });
}

// ---- channel ---------------------------------------------------------------------------------

int blip_channel_open(blip_context_t* ctx, blip_config_t* cfg, blip_channel_t** out) noexcept {
    if (!valid(ctx, blip::api::kContextTag) || !valid(cfg, blip::api::kConfigTag) ||
        out == nullptr) {
        if (valid(cfg, blip::api::kConfigTag)) cfg->error = "NULL or invalid context or out";
        return BLIP_EINVAL;
    }
    EventLoop& loop = *ctx->loop;
    if (!loop.owns_thread() && !loop.on_loop_thread()) {
        cfg->error = "embedded context: open channels on the loop thread";
        return BLIP_ESTATE;
    }
    return guarded([&] {
        auto handle = std::make_unique<blip_channel>();
        blip_channel* h = handle.get();
        h->ctx = ctx;
        h->cb = cfg->cb;
        h->user = cfg->user;
        Channel::Callback cb;
        if (h->cb != nullptr) {
            cb = [h](const ChannelEvent& e, std::span<const std::uint8_t> payload) {
                const blip_event_info_t info = to_info(e, payload);
                ++h->ctx->callback_depth;
                h->cb(h->user, h, &info);
                --h->ctx->callback_depth;
            };
        }
        std::string err;
        int rc = BLIP_ECLOSED;
        {
            std::lock_guard<std::mutex> lock(ctx->mu);
            if (ctx->destroying) {
                cfg->error = "the context is being destroyed";
                return BLIP_ECLOSED;
            }
        }
        const bool ran = loop.call([&] { rc = Channel::open(loop, cfg->cfg, cb, &h->ch, &err); });
        if (!ran) {
            cfg->error = "the context is being destroyed";
            return BLIP_ECLOSED;
        }
        if (rc != BLIP_OK) {
            cfg->error = std::move(err);
            return rc;
        }
        {
            std::lock_guard<std::mutex> lock(ctx->mu);
            ctx->channels.push_back(std::move(handle));
        }
        cfg->error.clear();
        *out = h;
        return BLIP_OK;
    });
}

int blip_channel_close(blip_channel_t* ch) noexcept {
    if (!channel_usable(ch)) return BLIP_EINVAL;
    return guarded([&] { return ch->ch->close(); });
}

int blip_channel_send_stream(blip_channel_t* ch, uint32_t stream, const void* data, size_t len,
                             uint64_t* seq) noexcept {
    if (!channel_usable(ch) || (data == nullptr && len > 0)) return BLIP_EINVAL;
    return guarded([&] {
        return ch->ch->send(stream, {static_cast<const std::uint8_t*>(data), len}, seq);
    });
}

int blip_channel_send(blip_channel_t* ch, const void* data, size_t len, uint64_t* seq) noexcept {
    if (!channel_usable(ch)) return BLIP_EINVAL;
    return blip_channel_send_stream(ch, ch->ch->default_stream(), data, len, seq);
}

int blip_channel_wait_writable(blip_channel_t* ch, int timeout_ms) noexcept {
    if (!channel_usable(ch)) return BLIP_EINVAL;
    return guarded([&] { return ch->ch->wait_writable(timeout_ms); });
}

int blip_channel_wait_sent(blip_channel_t* ch, int timeout_ms) noexcept {
    if (!channel_usable(ch)) return BLIP_EINVAL;
    return guarded([&] { return ch->ch->wait_sent(timeout_ms); });
}

int blip_channel_receive(blip_channel_t* ch, int timeout_ms, blip_event_t** ev) noexcept {
    if (!channel_usable(ch) || ev == nullptr) return BLIP_EINVAL;
    return guarded([&] {
        auto wrapper = std::make_unique<blip_event>();
        const int rc = ch->ch->receive(timeout_ms, &wrapper->ev);
        if (rc != BLIP_OK) return rc;
        *ev = wrapper.release();
        return BLIP_OK;
    });
}

int blip_channel_fd(blip_channel_t* ch, int* fd) noexcept {
    if (!channel_usable(ch) || fd == nullptr) return BLIP_EINVAL;
    return ch->ch->fd(fd);
}

int blip_channel_identity(blip_channel_t* ch, uint64_t* node_id, uint64_t* session_id) noexcept {
    if (!channel_usable(ch)) return BLIP_EINVAL;
    return ch->ch->identity(node_id, session_id);
}

// ---- stats -----------------------------------------------------------------------------------

int blip_stat_name(int scope, size_t index, const char** name) noexcept {
    const std::vector<std::string_view>* names = stat_table(scope);
    if (names == nullptr || name == nullptr || index >= names->size()) return BLIP_EINVAL;
    *name = (*names)[index].data();  // the table's literals are NUL-terminated
    return BLIP_OK;
}

int blip_channel_stat(blip_channel_t* ch, const char* name, uint64_t* value) noexcept {
    if (!channel_usable(ch) || name == nullptr || value == nullptr) return BLIP_EINVAL;
    return guarded([&] { return ch->ch->stat(name, value); });
}

int blip_channel_remotes(blip_channel_t* ch, uint64_t* node_ids, uint32_t* stream_ids,
                         size_t capacity, size_t* count) noexcept {
    if (!channel_usable(ch) || count == nullptr) return BLIP_EINVAL;
    if (capacity > 0 && (node_ids == nullptr || stream_ids == nullptr)) return BLIP_EINVAL;
    return guarded([&] {
        std::vector<blip::proto::StreamKey> keys;
        if (const int rc = ch->ch->remotes(&keys); rc != BLIP_OK) return rc;
        *count = keys.size();
        for (std::size_t i = 0; i < keys.size() && i < capacity; ++i) {
            node_ids[i] = keys[i].node;
            stream_ids[i] = keys[i].stream;
        }
        return BLIP_OK;
    });
}

int blip_channel_remote_stat(blip_channel_t* ch, uint64_t node_id, uint32_t stream_id,
                             const char* name, uint64_t* value) noexcept {
    if (!channel_usable(ch) || name == nullptr || value == nullptr) return BLIP_EINVAL;
    return guarded([&] { return ch->ch->remote_stat(node_id, stream_id, name, value); });
}

}  // extern "C"
