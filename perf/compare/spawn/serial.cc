// spawn, the n task bodies called in a loop: what the work costs without any runtime.
#include "common/bench_main.h"
#include "spawn/spawn.h"

namespace {

cmp::Outcome run(const cmp::Options& o) {
  std::vector<std::uint64_t> out(static_cast<std::size_t>(o.n), 0);
  const double t = cmp::timed([&] {
    for (std::size_t i = 0; i < out.size(); ++i) spawn::body(out.data(), i);
  });
  return cmp::measured(t, out.size(), spawn::check(out));
}

}  // namespace

int main(int argc, char** argv) {
  return cmp::bench_main(argc, argv, {"serial", "spawn", spawn::kDefaultN}, run);
}
