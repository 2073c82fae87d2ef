// The umbrella header: everything stealio offers.
//
// Example:
//   #include <stealio/stealio.h>
//   stealio::Coro<int> answer() { co_return 42; }
//   int main() { stealio::Scheduler sched; return sched.run(answer()) == 42 ? 0 : 1; }
#ifndef STEALIO_STEALIO_H_
#define STEALIO_STEALIO_H_

#include "stealio/barrier.h"
#include "stealio/condition.h"
#include "stealio/context.h"
#include "stealio/coro.h"
#include "stealio/errors.h"
#include "stealio/event.h"
#include "stealio/future.h"
#include "stealio/gather.h"
#include "stealio/lifetime.h"
#include "stealio/lock.h"
#include "stealio/loop.h"
#include "stealio/queue.h"
#include "stealio/scheduler.h"
#include "stealio/semaphore.h"
#include "stealio/sleep.h"
#include "stealio/sync.h"
#include "stealio/task.h"
#include "stealio/task_base.h"
#include "stealio/task_group.h"
#include "stealio/timeouts.h"
#include "stealio/to_thread.h"
#include "stealio/wait.h"

#endif  // STEALIO_STEALIO_H_
