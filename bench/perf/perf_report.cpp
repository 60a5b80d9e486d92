// perf_report.cpp - blip-perf's output: the human table (default) and the JSON document.
#include "perf_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace perf {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<double> sorted(const std::vector<double>& v) {
    std::vector<double> s = v;
    std::sort(s.begin(), s.end());
    return s;
}

}  // namespace

double Figure::median() const {
    if (values.empty()) return kNaN;
    const std::vector<double> s = sorted(values);
    const std::size_t n = s.size();
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

double Figure::min() const {
    return values.empty() ? kNaN : *std::min_element(values.begin(), values.end());
}

double Figure::max() const {
    return values.empty() ? kNaN : *std::max_element(values.begin(), values.end());
}

Figure& Section::figure(const std::string& k, const std::string& label, Unit unit,
                        const std::string& unit_text) {
    for (Figure& f : figures) {
        if (f.key == k) return f;
    }
    figures.push_back(Figure{k, label, unit, unit_text, {}});
    return figures.back();
}

double Section::median_of(const std::string& k) const {
    for (const Figure& f : figures) {
        if (f.key == k) return f.median();
    }
    return kNaN;
}

bool Target::known() const { return !std::isnan(value); }

bool Target::met() const {
    if (!known()) return false;
    return op == ">=" ? value >= target : value < target;
}

bool Document::pass() const {
    return !sections.empty() &&
           std::all_of(sections.begin(), sections.end(), [](const Section& s) { return s.pass(); });
}

std::string format_value(double v, Unit unit) {
    if (std::isnan(v)) return "-";
    switch (unit) {
        case Unit::kNs:
            return format_ns(v);
        case Unit::kMBps:
            return format_number(v, v < 10 ? 2 : 1);
        case Unit::kPercent:
            return format_number(v * 100, 1) + " %";
        case Unit::kKB:
            return format_number(v, 0) + " kB";
        case Unit::kRate:
        case Unit::kCount:
            return std::fabs(v - std::round(v)) < 1e-9 || std::fabs(v) >= 1000
                       ? format_number(v, 0)
                       : format_number(v, 3);
    }
    return "-";
}

void print_table(const Document& d) {
    const Machine& m = d.machine;
    std::printf("blip-perf %s (libblip %s), mode %s, %s\n", d.version.c_str(),
                d.library_version.c_str(), d.mode.c_str(), d.date.c_str());
    std::printf("machine: %d cores (%s), %s, clocksource %s, rmem_max %llu, wmem_max %llu%s\n",
                m.cores, m.cpu.c_str(), m.kernel.c_str(), m.clocksource.c_str(),
                static_cast<unsigned long long>(m.rmem_max),
                static_cast<unsigned long long>(m.wmem_max),
                m.netns ? ", private network namespace" : "");
    std::printf("load average at start: %.2f%s\n", m.load1,
                m.load1 > 0.5 * m.cores ? " (other work competes for the cores: figures are low "
                                          "and noisy)"
                                        : "");
    for (const Section& s : d.sections) {
        std::printf("\n== %s: %s\n", s.key.c_str(), s.title.c_str());
        std::string line = "settings:";
        for (const auto& [k, v] : s.settings) {
            const std::string item = " " + k + "=" + v;
            if (line.size() + item.size() > 100) {
                std::printf("%s\n", line.c_str());
                line = "         ";
            }
            line += item;
        }
        std::printf("%s\n", line.c_str());
        std::printf("%-46s %14s %14s %14s  %s\n", "figure (median of reps; min, max)", "median",
                    "min", "max", "unit");
        for (const Figure& f : s.figures) {
            std::printf("%-46s %14s %14s %14s  %s\n", f.label.c_str(),
                        format_value(f.median(), f.unit).c_str(),
                        format_value(f.min(), f.unit).c_str(),
                        format_value(f.max(), f.unit).c_str(), f.unit_text.c_str());
        }
        std::printf("verdict: %s (%d of %d repetitions verified)\n", s.pass() ? "PASS" : "FAIL",
                    s.reps_ok, s.reps);
        for (const std::string& p : s.problems) std::printf("  problem: %s\n", p.c_str());
        for (const std::string& n : s.notes) std::printf("  note: %s\n", n.c_str());
    }
    if (!d.targets.empty()) {
        std::printf("\n== targets (issue 4; medians of the runs above)\n");
        std::printf("%-52s %14s %16s  %s\n", "target", "measured", "wanted", "met");
        for (const Target& t : d.targets) {
            const std::string want = t.op + " " + format_value(t.target, t.unit);
            std::printf(
                "%-52s %14s %16s  %s\n", t.label.c_str(),
                (format_value(t.value, t.unit) + (t.unit_text.empty() ? "" : " " + t.unit_text))
                    .c_str(),
                want.c_str(),
                !t.known() ? "n/a"
                : t.met()  ? "yes"
                           : "NO");
        }
    }
    for (const std::string& n : d.notes) std::printf("\nnote: %s\n", n.c_str());
    std::printf("\n%s\n", d.pass() ? "PASS: every repetition verified every message"
                                   : "FAIL: see the problems above");
}

void print_json(const Document& d) {
    const Machine& m = d.machine;
    std::string o = "{\"tool\":\"blip-perf\",\"version\":" + json_string(d.version) +
                    ",\"library_version\":" + json_string(d.library_version) +
                    ",\"mode\":" + json_string(d.mode) + ",\"date\":" + json_string(d.date);
    o += ",\"machine\":{\"cores\":" + std::to_string(m.cores) + ",\"cpu\":" + json_string(m.cpu) +
         ",\"kernel\":" + json_string(m.kernel) + ",\"clocksource\":" + json_string(m.clocksource) +
         ",\"rmem_max\":" + std::to_string(m.rmem_max) +
         ",\"wmem_max\":" + std::to_string(m.wmem_max) +
         ",\"netns\":" + (m.netns ? "true" : "false") + ",\"load1\":" + json_number(m.load1) + "}";
    o += ",\"sections\":[";
    for (std::size_t i = 0; i < d.sections.size(); ++i) {
        const Section& s = d.sections[i];
        if (i > 0) o += ",";
        o += "{\"key\":" + json_string(s.key) + ",\"title\":" + json_string(s.title) +
             ",\"pass\":" + (s.pass() ? "true" : "false") + ",\"reps\":" + std::to_string(s.reps) +
             ",\"reps_ok\":" + std::to_string(s.reps_ok) + ",\"settings\":{";
        for (std::size_t k = 0; k < s.settings.size(); ++k) {
            if (k > 0) o += ",";
            o += json_string(s.settings[k].first) + ":" + json_string(s.settings[k].second);
        }
        o += "},\"figures\":[";
        for (std::size_t k = 0; k < s.figures.size(); ++k) {
            const Figure& f = s.figures[k];
            if (k > 0) o += ",";
            std::string unit = f.unit == Unit::kNs        ? "ns"
                               : f.unit == Unit::kPercent ? "fraction"
                               : f.unit == Unit::kKB      ? "kB"
                                                          : f.unit_text;
            o += "{\"key\":" + json_string(f.key) + ",\"label\":" + json_string(f.label) +
                 ",\"unit\":" + json_string(unit) + ",\"median\":" + json_number(f.median()) +
                 ",\"min\":" + json_number(f.min()) + ",\"max\":" + json_number(f.max()) +
                 ",\"values\":[";
            for (std::size_t v = 0; v < f.values.size(); ++v) {
                if (v > 0) o += ",";
                o += json_number(f.values[v]);
            }
            o += "]}";
        }
        o += "],\"problems\":[";
        for (std::size_t k = 0; k < s.problems.size(); ++k) {
            if (k > 0) o += ",";
            o += json_string(s.problems[k]);
        }
        o += "],\"notes\":[";
        for (std::size_t k = 0; k < s.notes.size(); ++k) {
            if (k > 0) o += ",";
            o += json_string(s.notes[k]);
        }
        o += "]}";
    }
    o += "],\"targets\":[";
    for (std::size_t i = 0; i < d.targets.size(); ++i) {
        const Target& t = d.targets[i];
        if (i > 0) o += ",";
        o += "{\"key\":" + json_string(t.key) + ",\"label\":" + json_string(t.label) +
             ",\"value\":" + json_number(t.value) + ",\"op\":" + json_string(t.op) +
             ",\"target\":" + json_number(t.target) +
             ",\"met\":" + (t.known() ? (t.met() ? "true" : "false") : "null") + "}";
    }
    o += "],\"notes\":[";
    for (std::size_t i = 0; i < d.notes.size(); ++i) {
        if (i > 0) o += ",";
        o += json_string(d.notes[i]);
    }
    o += "],\"pass\":";
    o += d.pass() ? "true" : "false";
    o += "}\n";
    std::fputs(o.c_str(), stdout);
}

}  // namespace perf
