// blip_send.cpp - blip-send: sends stdin lines, files or synthetic messages to a multicast group
// through the public C API, then lingers so receivers can still get repairs.
#include <blip/blip.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tool_common.h"

namespace {

constexpr const char* kProg = "blip-send";

void print_help() {
    std::printf(
        "usage: blip-send --interface I [options]            send stdin, one message per line\n"
        "       blip-send --interface I [options] --file F... send each file as one message\n"
        "       blip-send --interface I [options] --count N --size B   send N messages of B "
        "bytes\n\n"
        "options:\n%s"
        "  --stream N         stream to send on (same as --set stream=N)\n"
        "  --file F           send file F as one message (repeatable; further non-option\n"
        "                     arguments are files too)\n"
        "  --count N          synthetic mode: send N messages ...\n"
        "  --size B           ... of B bytes each (default 64)\n"
        "  --linger-ms N      after everything is sent, keep the channel open N ms so receivers\n"
        "                     can still get repairs (default 1000)\n"
        "  --quiet            no summary on stderr\n"
        "  --help             this text\n\n"
        "Exit status: 0 sent, 1 a Blip call failed, 2 usage error.\n",
        tools::kChannelHelp);
}

struct Options {
    tools::ChannelArgs channel;
    std::vector<std::string> files;
    bool file_mode = false;
    std::uint64_t count = 0;
    std::uint64_t size = 64;
    bool synthetic = false;
    bool size_given = false;
    std::uint64_t linger_ms = 1000;
    bool quiet = false;
};

Options parse(int argc, char** argv) {
    Options o;
    tools::Args args(kProg, argc, argv);
    while (!args.done()) {
        const char* v = nullptr;
        if (args.flag("--help") || args.flag("-h")) {
            print_help();
            std::exit(0);
        }
        // Options that store their value themselves.
        if (o.channel.parse(args) || args.option_u64("--linger-ms", &o.linger_ms, 0, 86400000)) {
            continue;
        }
        if (args.option("--stream", &v)) {
            o.channel.sets.emplace_back("stream", v);
        } else if (args.option("--file", &v)) {
            o.files.emplace_back(v);
            o.file_mode = true;
        } else if (args.option_u64("--count", &o.count)) {
            o.synthetic = true;
        } else if (args.option_u64("--size", &o.size, 0, UINT32_MAX)) {
            o.size_given = true;
        } else if (args.flag("--quiet") || args.flag("-q")) {
            o.quiet = true;
        } else if (args.current()[0] != '-' || std::strcmp(args.current(), "-") == 0) {
            o.files.emplace_back(args.current());  // "--file a b c": the rest are files too
            args.next();
        } else {
            args.unknown();
        }
    }
    if (!o.files.empty() && !o.file_mode) args.error("files are given with --file F");
    if (o.file_mode && o.synthetic) args.error("--file and --count exclude each other");
    if (o.size_given && !o.synthetic) args.error("--size needs --count");
    return o;
}

class Sender {
public:
    explicit Sender(blip_channel_t* ch) : ch_(ch) {}

    // Sends one message, waiting for queue room on BLIP_EAGAIN; returns the failure, if any.
    int send(const void* data, std::size_t len) {
        for (;;) {
            const int rc = blip_channel_send(ch_, data, len, nullptr);
            if (rc == BLIP_OK) break;
            if (rc != BLIP_EAGAIN) return rc;
            const int wrc = blip_channel_wait_writable(ch_, -1);
            if (wrc != BLIP_OK) tools::fail(kProg, "wait for send queue room", wrc);
        }
        ++messages_;
        bytes_ += len;
        return BLIP_OK;
    }
    [[nodiscard]] std::uint64_t messages() const { return messages_; }
    [[nodiscard]] std::uint64_t bytes() const { return bytes_; }

private:
    blip_channel_t* ch_;
    std::uint64_t messages_ = 0;
    std::uint64_t bytes_ = 0;
};

std::vector<char> read_file(const std::string& path) {
    std::FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
        std::fprintf(stderr, "%s: cannot open '%s': %s\n", kProg, path.c_str(),
                     std::strerror(errno));
        std::exit(1);
    }
    std::vector<char> data;
    char buf[65536];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.insert(data.end(), buf, buf + n);
    const bool failed = std::ferror(f) != 0;
    if (f != stdin) std::fclose(f);
    if (failed) {
        std::fprintf(stderr, "%s: cannot read '%s'\n", kProg, path.c_str());
        std::exit(1);
    }
    return data;
}

void send_stdin_lines(Sender& s) {
    char* line = nullptr;
    std::size_t cap = 0;
    ssize_t n = 0;
    std::uint64_t lineno = 0;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        ++lineno;
        std::size_t len = static_cast<std::size_t>(n);
        if (len > 0 && line[len - 1] == '\n') --len;  // one message per line, without newline
        const int rc = s.send(line, len);
        if (rc != BLIP_OK) tools::fail(kProg, "send line " + std::to_string(lineno), rc);
    }
    std::free(line);
}

void send_synthetic(Sender& s, std::uint64_t count, std::uint64_t size) {
    std::string msg(size, '.');
    for (std::uint64_t i = 0; i < count; ++i) {
        // Printable, numbered and of the exact size: easy to follow in blip-recv's output.
        const std::string head = "message " + std::to_string(i) + " ";
        msg.replace(0, std::min<std::size_t>(head.size(), msg.size()), head, 0,
                    std::min<std::size_t>(head.size(), msg.size()));
        const int rc = s.send(msg.data(), msg.size());
        if (rc != BLIP_OK) tools::fail(kProg, "send message " + std::to_string(i), rc);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    blip_config_t* cfg = tools::make_config(kProg, o.channel);

    blip_context_t* ctx = nullptr;
    int rc = blip_context_create(&ctx);
    if (rc != BLIP_OK) tools::fail(kProg, "create context", rc);
    blip_channel_t* ch = nullptr;
    const std::string where = o.channel.where();
    rc = blip_channel_open(ctx, cfg, &ch);
    if (rc != BLIP_OK) tools::fail(kProg, "open " + where, rc, cfg);
    blip_config_destroy(cfg);

    const std::uint64_t start = tools::monotonic_ns();
    Sender s(ch);
    if (o.synthetic) {
        send_synthetic(s, o.count, o.size);
    } else if (o.file_mode) {
        for (const std::string& f : o.files) {
            const std::vector<char> data = read_file(f);
            rc = s.send(data.data(), data.size());
            if (rc != BLIP_OK) tools::fail(kProg, "send file '" + f + "'", rc);
        }
    } else {
        send_stdin_lines(s);
    }
    rc = blip_channel_wait_sent(ch, -1);
    if (rc != BLIP_OK) tools::fail(kProg, "wait until sent", rc);
    const double seconds = static_cast<double>(tools::monotonic_ns() - start) / 1e9;

    // The retransmit window still holds the data: stay a while so receivers can repair the tail.
    std::this_thread::sleep_for(std::chrono::milliseconds(o.linger_ms));
    blip_channel_close(ch);
    blip_context_destroy(ctx);

    if (!o.quiet) {
        std::fprintf(stderr,
                     "%s: sent %llu messages, %llu bytes in %.3f s (%.1f MB/s) to %s, then "
                     "lingered %llu ms\n",
                     kProg, static_cast<unsigned long long>(s.messages()),
                     static_cast<unsigned long long>(s.bytes()), seconds,
                     seconds > 0 ? static_cast<double>(s.bytes()) / 1e6 / seconds : 0.0,
                     where.c_str(), static_cast<unsigned long long>(o.linger_ms));
    }
    return 0;
}
