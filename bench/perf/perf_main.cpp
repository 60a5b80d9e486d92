// perf_main.cpp - blip-perf: Blip's benchmark tool (throughput, latency, repair, raw UDP
// baseline, compare). Uses only the public C API in the roles it forks; the parent process
// never creates a Blip context. See --help and docs/performance.md.
#include <blip/blip.h>
#include <blip/version.h>

#include <cstdio>
#include <ctime>

#include "perf_modes.h"
#include "perf_options.h"
#include "perf_report.h"

int main(int argc, char** argv) {
    const perf::Options o = perf::parse_options(argc, argv);
    perf::Document doc;
    doc.mode = o.mode;
    doc.version = BLIP_VERSION_STRING;
    doc.library_version = blip_version();
    doc.machine = perf::describe_machine();
    char date[32] = "";
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    if (gmtime_r(&now, &utc) != nullptr)
        std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &utc);
    doc.date = date;
    if (!doc.machine.netns) {
        std::fprintf(stderr,
                     "blip-perf: warning: BLIP_NETNS is not set: this sends multicast on %s; "
                     "prefer a private namespace (.ci/in-netns.sh blip-perf ...)\n",
                     o.interface.c_str());
    }

    perf::run_mode(o, doc);

    if (o.json) {
        perf::print_json(doc);
    } else {
        perf::print_table(doc);
    }
    std::fflush(stdout);
    if (!doc.pass()) return 1;
    if (o.check_targets) {
        for (const perf::Target& t : doc.targets) {
            if (!t.op.empty() && !t.met()) return 3;
        }
    }
    return 0;
}
