// JUnit XML for sweeps: one <testsuite> per sweep, one <testcase> per seed,
// a <failure> with the violated invariant and the replay command for each
// failing seed, so CI systems (GitLab, Jenkins, GitHub test reporters)
// show seed failures natively.
#pragma once

#include <string>
#include <vector>

namespace meshd::tools {

struct JunitCase {
  std::string name;        // "seed 17"
  double time_s = 0;
  bool failed = false;
  std::string message;     // one line: the first violation
  std::string details;     // body: violations + replay command
};

std::string xml_escape(const std::string& text);
bool write_junit(const std::string& path, const std::string& suite, const std::vector<JunitCase>& cases,
                 double wall_s, std::string* error);

}  // namespace meshd::tools
