// Metric keys named once, at compile time.
//
// A series read or written through a string can be misspelt, and a
// misspelt read silently returns 0 — a test "checking" a counter that does
// not exist passes. Keys fix that: each series a component registers is
// declared once as a constexpr key next to the component (e.g.
// core/membership/swim_service.h), the component registers through the
// key, and readers (tests, status) use the same key, so a typo is a
// compile error. A labelled family takes its label value as an enum, whose
// name function turns it into the label text: no free-form label either.
#pragma once

#include <string>
#include <string_view>

namespace meshd {

// One counter or gauge series, e.g. meshd_swim_sent_total.
struct CounterKey {
  std::string_view series;
  std::string_view help;
};
struct GaugeKey {
  std::string_view series;
  std::string_view help;
};

// A counter family with one label whose values are an enum:
// CounterFamily<SwimDrop>{"meshd_swim_dropped_total", "reason", swim_drop_name, ...}
// names meshd_swim_dropped_total{reason="bad_signature"}.
template <class Label>
struct CounterFamily {
  std::string_view family;
  std::string_view label;
  std::string_view (*name)(Label);
  std::string_view help;

  std::string series(Label value) const {
    std::string s(family);
    s += '{';
    s += label;
    s += "=\"";
    s += name(value);
    s += "\"}";
    return s;
  }
};

}  // namespace meshd
