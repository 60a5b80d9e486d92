// libFuzzer target for the protocol v1 decoder (src/wire/codec.cpp): every input must
// decode without out-of-bounds reads or UB, every view of an accepted packet must stay
// inside the input, and every accepted input must re-encode to itself (reserved bytes
// aside), i.e. decode is canonical. Depends only on src/wire and test/common.
#include <cstddef>
#include <cstdint>
#include <span>

#include "../common/packet_reencode.h"
#include "wire/codec.h"
#include "wire/packet.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace blip::wire;
    std::span<const std::uint8_t> in(data, size);
    Packet p;
    DecodeError e = decode(in, p);
    if (to_string(e).empty()) __builtin_trap();
    if (e != DecodeError::kOk) return 0;
    // Reading every viewed byte lets AddressSanitizer catch a view that escapes the input.
    volatile std::uint64_t sink = blip::testutil::touch_all_views(p);
    (void)sink;
    if (!blip::testutil::reencodes_to(p, in)) __builtin_trap();
    return 0;
}
