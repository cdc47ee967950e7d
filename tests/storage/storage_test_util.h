// Helpers for the storage tests: a SimDisk-backed log and payload makers.
#pragma once

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "core/env/random.h"
#include "core/storage/append_log.h"
#include "sim/disk_model.h"

namespace meshd::storage::test {

inline std::vector<uint8_t> payload_for(uint64_t seq, size_t size) {
  std::vector<uint8_t> p(size);
  for (size_t i = 0; i < size; ++i) p[i] = static_cast<uint8_t>((seq * 131 + i * 7) ^ (seq >> 3));
  return p;
}

inline std::unique_ptr<AppendLog> must_open(Disk& disk, LogOptions opt = {}) {
  auto l = AppendLog::open(disk, nullptr, nullptr, std::move(opt));
  if (!l) FAIL(l.status().to_string());
  return std::move(*l);
}

inline std::vector<std::vector<uint8_t>> read_all(AppendLog& log) {
  std::vector<std::vector<uint8_t>> out;
  Status s = log.scan(log.first_seq(), log.next_seq(), [&](uint64_t seq, std::span<const uint8_t> p) {
    CHECK(seq == log.first_seq() + out.size());
    out.emplace_back(p.begin(), p.end());
    return true;
  });
  if (!s) FAIL(s.to_string());
  return out;
}

}  // namespace meshd::storage::test
