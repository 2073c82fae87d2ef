// The umbrella header: everything stealio offers.
//
// Example:
//   #include <stealio/stealio.h>
//   stealio::Coro<int> answer() { co_return 42; }
//   int main() { stealio::Scheduler sched; return sched.run(answer()) == 42 ? 0 : 1; }
#ifndef STEALIO_STEALIO_H_
#define STEALIO_STEALIO_H_

#include "stealio/context.h"
#include "stealio/coro.h"
#include "stealio/errors.h"
#include "stealio/future.h"
#include "stealio/lifetime.h"
#include "stealio/loop.h"
#include "stealio/scheduler.h"
#include "stealio/sleep.h"
#include "stealio/task.h"
#include "stealio/task_base.h"

#endif  // STEALIO_STEALIO_H_
