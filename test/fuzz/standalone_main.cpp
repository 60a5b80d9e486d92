// standalone_main.cpp - a libFuzzer-compatible driver for builds without libFuzzer: replays the
// files (or directories of files) named on the command line, or, given none, 20000 inputs from
// a fixed-seed generator, through LLVMFuzzerTestOneInput. Depends only on the C++ library.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
// Optional in a fuzz target, as with libFuzzer.
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

constexpr int kRandomInputs = 20000;
constexpr std::size_t kMaxRandomLength = 2048;

// Runs one input from its own exact-size heap block, so that a sanitizer catches any read past
// the end.
void run_one(const std::uint8_t* bytes, std::size_t size) {
    std::unique_ptr<std::uint8_t[]> copy(new std::uint8_t[size]);
    for (std::size_t i = 0; i < size; ++i) {
        copy[i] = bytes[i];
    }
    LLVMFuzzerTestOneInput(copy.get(), size);
}

bool run_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "cannot read %s\n", path.c_str());
        return false;
    }
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    run_one(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    return true;
}

// xorshift64: deterministic across platforms and runs, so a failure reproduces exactly.
std::uint64_t next_random(std::uint64_t& state) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

}  // namespace

int main(int argc, char** argv) {
    if (LLVMFuzzerInitialize != nullptr) {
        LLVMFuzzerInitialize(&argc, &argv);
    }

    if (argc > 1) {
        int files = 0;
        for (int i = 1; i < argc; ++i) {
            const std::filesystem::path arg(argv[i]);
            if (std::filesystem::is_directory(arg)) {
                for (const auto& entry : std::filesystem::directory_iterator(arg)) {
                    if (entry.is_regular_file()) {
                        if (!run_file(entry.path())) {
                            return 1;
                        }
                        ++files;
                    }
                }
            } else {
                if (!run_file(arg)) {
                    return 1;
                }
                ++files;
            }
        }
        std::printf("replayed %d inputs\n", files);
        return 0;
    }

    std::uint64_t state = 0x9E3779B97F4A7C15ULL;
    std::vector<std::uint8_t> buffer(kMaxRandomLength);
    for (int n = 0; n < kRandomInputs; ++n) {
        const std::size_t size = next_random(state) % (kMaxRandomLength + 1);
        for (std::size_t i = 0; i < size; ++i) {
            buffer[i] = static_cast<std::uint8_t>(next_random(state));
        }
        run_one(buffer.data(), size);
    }
    std::printf("ran %d pseudo-random inputs (0..%zu bytes)\n", kRandomInputs, kMaxRandomLength);
    return 0;
}
