// perf_report.h - what blip-perf prints: sections of figures, each the median of its
// repetitions with min and max, as a human table or as one JSON document.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "perf_util.h"

namespace perf {

enum class Unit : std::uint8_t {
    kCount,    // plain number
    kRate,     // per second (unit text says of what)
    kMBps,     // 10^6 bytes per second
    kNs,       // a duration, printed as ns/us/ms/s
    kPercent,  // a fraction printed as %
    kKB,       // kilobytes
};

/// One figure: a value per successful repetition.
struct Figure {
    std::string key;    // stable, for --json ("rx1.msgs_per_s")
    std::string label;  // for people
    Unit unit = Unit::kCount;
    std::string unit_text;  // "msg/s", "MB/s", "" ...
    std::vector<double> values;

    [[nodiscard]] double median() const;
    [[nodiscard]] double min() const;
    [[nodiscard]] double max() const;
};

/// One measured configuration: its settings, figures and verdict.
struct Section {
    std::string key;    // "throughput", "raw_1k", "repair_1pct" ...
    std::string title;  // one line for people
    std::vector<std::pair<std::string, std::string>> settings;
    std::vector<Figure> figures;
    std::vector<std::string> problems;  // failures, one line each ("repetition 2/3: ...")
    std::vector<std::string> notes;     // what else the reader should know (retries, search)
    int reps = 0;
    int reps_ok = 0;

    [[nodiscard]] bool pass() const { return reps > 0 && reps_ok == reps; }
    /// The figure with `key`, created (empty) if absent.
    Figure& figure(const std::string& key, const std::string& label, Unit unit,
                   const std::string& unit_text);
    /// The figure's median, or NaN if absent or empty.
    [[nodiscard]] double median_of(const std::string& key) const;
};

/// A target of issue 4 and where this run stands.
struct Target {
    std::string key;
    std::string label;
    double value = 0;  // NaN: not measured (a run failed)
    Unit unit = Unit::kCount;
    std::string unit_text;
    std::string op;  // ">=" or "<"
    double target = 0;
    [[nodiscard]] bool known() const;
    [[nodiscard]] bool met() const;
};

struct Document {
    std::string mode;
    std::string date;  // UTC, ISO 8601
    std::string version;
    std::string library_version;
    Machine machine;
    std::vector<Section> sections;
    std::vector<Target> targets;
    std::vector<std::string> notes;  // printed after the tables

    [[nodiscard]] bool pass() const;
};

/// Formats a value of `unit` for the table.
std::string format_value(double v, Unit unit);

void print_table(const Document& d);
void print_json(const Document& d);

}  // namespace perf
