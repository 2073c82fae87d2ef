// asyncio's synchronization primitives for tasks: Lock, Event, Condition, Semaphore,
// BoundedSemaphore, Barrier (and the queues in <stealio/queue.h>).
//
// They suspend the waiting task, never its worker: a waiter awaits a Future<void> made on its
// running loop, and a wakeup completes the first waiter's future (FIFO). Any primitive may be
// used by tasks on different workers at once; the calls that never wait (release, set, notify,
// put_nowait ...) are also safe from threads outside the scheduler.
//
// Example:
//   #include <stealio/sync.h>
//   stealio::Lock lock;
//   stealio::Event done;
//   stealio::Coro<void> step(int& total, int n) {
//     {
//       auto guard = co_await lock.scoped();
//       total += n;
//     }
//     if (n == 0) done.set();
//   }
#ifndef STEALIO_SYNC_H_
#define STEALIO_SYNC_H_

#include "stealio/barrier.h"
#include "stealio/condition.h"
#include "stealio/event.h"
#include "stealio/lock.h"
#include "stealio/semaphore.h"

#endif  // STEALIO_SYNC_H_
