// Tests for <stealio/context.h>: ports of CPython's Lib/test/test_context.py (ContextTest), and
// the thread cases that asyncio never meets: one context current on two threads, and the
// per-thread base context.
#include "stealio/context.h"

#include <gtest/gtest.h>

#include <cctype>
#include <latch>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "stealio/errors.h"

namespace {

using stealio::Context;
using stealio::ContextVar;
using stealio::Token;
using stealio::internal::ContextScope;
using stealio::internal::ContextSlot;

// The message of the exception of type E that fn throws; fails the test if it throws nothing.
template <class E, class F>
std::string message_of(F&& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "no exception thrown";
  return "";
}

// `s` with every hexadecimal address ("0x7f12...") replaced by "0x?", for comparing reprs.
std::string masked(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    if (s.compare(i, 2, "0x") == 0 && i + 2 < s.size() && std::isxdigit(s[i + 2])) {
      out += "0x?";
      for (i += 2; i < s.size() && std::isxdigit(s[i]); ++i) {
      }
    } else {
      out += s[i++];
    }
  }
  return out;
}

TEST(ContextVar, NameAndRepr) {
  ContextVar<int> var("a");
  EXPECT_EQ(var.name(), "a");
  EXPECT_EQ(masked(var.repr()), "<ContextVar name='a' at 0x?>");
  ContextVar<int> other("a");
  EXPECT_NE(var.repr(), other.repr());  // distinct variables, distinct identities
}

// test_context_getset_1, the first half.
TEST(ContextVar, GetSetReset) {
  ContextVar<int> c("c");
  std::string msg = message_of<stealio::LookupError>([&] { c.get(); });
  EXPECT_EQ(msg, c.repr());
  EXPECT_EQ(c.get(7), 7);

  Token t0 = c.set(42);
  EXPECT_EQ(c.get(), 42);
  EXPECT_EQ(c.get(7), 42);
  EXPECT_FALSE(t0.has_old_value());
  EXPECT_EQ(t0.var_name(), "c");

  Token t = c.set(43);
  EXPECT_EQ(c.get(), 43);
  EXPECT_TRUE(t.has_old_value());
  c.reset(t);
  EXPECT_TRUE(t.used());
  EXPECT_EQ(c.get(), 42);

  c.reset(t0);  // back to no value at all
  EXPECT_THROW(c.get(), stealio::LookupError);
  EXPECT_EQ(message_of<stealio::RuntimeError>([&] { c.reset(t0); }),
            t0.repr() + " has already been used once");
}

TEST(ContextVar, DefaultValue) {
  ContextVar<std::string> var("var", "dflt");
  EXPECT_EQ(var.get(), "dflt");
  EXPECT_EQ(var.get("arg"), "arg");  // get(default) wins over the variable's default
  Token t = var.set("spam");
  EXPECT_EQ(var.get(), "spam");
  EXPECT_EQ(var.get("arg"), "spam");
  var.reset(t);
  EXPECT_EQ(var.get(), "dflt");
}

TEST(ContextVar, CopiesAreTheSameVariable) {
  ContextVar<int> a("a");
  ContextVar<int> b = a;
  Token t = a.set(1);
  EXPECT_EQ(b.get(), 1);
  b.reset(t);
  EXPECT_EQ(a.get(0), 0);
}

// A value's destructor may itself read context variables, so a value dropped by reset must be
// released after the context's lock is dropped (else this deadlocks).
struct ReadsOnDestruction {
  const ContextVar<int>* other;
  int* reads;
  ~ReadsOnDestruction() {
    if (other != nullptr) *reads += other->get(1);
  }
};

TEST(ContextVar, ValueDestructorMayUseContextVars) {
  ContextVar<int> other("other");
  ContextVar<ReadsOnDestruction> var("var");
  int reads = 0;
  Token t = var.set(ReadsOnDestruction{&other, &reads});
  int before = reads;  // temporaries made while setting
  var.reset(t);        // drops the last reference to the stored value
  EXPECT_EQ(reads, before + 1);
}

TEST(Token, Repr) {
  ContextVar<int> var("a");
  Token t = var.set(1);
  EXPECT_EQ(masked(t.repr()), "<Token var=<ContextVar name='a' at 0x?> at 0x?>");
  EXPECT_NE(t.repr().find(var.repr()), std::string::npos);
  var.reset(t);
  EXPECT_EQ(masked(t.repr()), "<Token used var=<ContextVar name='a' at 0x?> at 0x?>");
}

// test_context_getset_2.
TEST(Token, FromAnotherVariable) {
  ContextVar<int> v1("v1");
  ContextVar<int> v2("v2");
  Token t = v1.set(42);
  EXPECT_EQ(message_of<stealio::ValueError>([&] { v2.reset(t); }),
            t.repr() + " was created by a different ContextVar");
  EXPECT_FALSE(t.used());  // a failed reset does not consume the token
  v1.reset(t);
  EXPECT_EQ(v1.get(0), 0);
}

// test_context_getset_4 and the copy_context half of test_context_getset_1.
TEST(Token, FromAnotherContext) {
  ContextVar<std::string> c("c");
  Token outer = c.set("ham");
  Context ctx1 = stealio::copy_context();
  EXPECT_EQ(ctx1.get(c), "ham");
  Token t1 = ctx1.run([&] { return c.set("eggs"); });
  EXPECT_EQ(ctx1.get(c), "eggs");
  EXPECT_EQ(c.get(), "ham");
  EXPECT_EQ(message_of<stealio::ValueError>([&] { c.reset(t1); }),
            t1.repr() + " was created in a different Context");
  ctx1.run([&] { c.reset(t1); });
  EXPECT_EQ(ctx1.get(c), "ham");
  EXPECT_EQ(c.get(), "ham");
  c.reset(outer);
}

TEST(Context, NewIsEmpty) {
  ContextVar<int> var("var", 5);
  Context ctx;
  EXPECT_EQ(ctx.size(), 0u);
  EXPECT_FALSE(ctx.contains(var));
  EXPECT_EQ(ctx.get(var), std::nullopt);  // the variable's default is not a value in ctx
  EXPECT_EQ(ctx.get(var, 9), 9);
  EXPECT_EQ(masked(ctx.repr()), "<Context object at 0x?>");
  EXPECT_NE(ctx.repr(), Context().repr());
}

// test_context_run_1.
TEST(Context, RunPassesArgumentsAndReturnsResult) {
  Context ctx;
  int r = ctx.run([](int a, int b) { return a * 10 + b; }, 4, 2);
  EXPECT_EQ(r, 42);
}

// test_context_run_6 and test_context_getset_3.
TEST(Context, RunSetsInsideOnly) {
  ContextVar<int> c("c", 0);
  Context ctx;
  ctx.run([&] {
    EXPECT_EQ(c.get(), 0);
    EXPECT_EQ(ctx.get(c), std::nullopt);
    Token t = c.set(42);
    EXPECT_EQ(c.get(), 42);
    EXPECT_EQ(ctx.get(c), 42);
    EXPECT_TRUE(ctx.contains(c));
    EXPECT_EQ(ctx.size(), 1u);
    c.reset(t);
    EXPECT_FALSE(ctx.contains(c));
    EXPECT_EQ(ctx.size(), 0u);
    c.set(43);
  });
  EXPECT_EQ(ctx.get(c), 43);  // ctx keeps what was set while it ran
  EXPECT_EQ(c.get(), 0);      // the caller's context never saw it
}

// test_context_run_4.
TEST(Context, NestedRun) {
  ContextVar<std::string> var("var");
  Context ctx1;
  Context ctx2;
  Context cur = ctx1.run([&] {
    EXPECT_EQ(var.get("none"), "none");
    var.set("spam");
    ctx2.run([&] { EXPECT_EQ(var.get("none"), "none"); });
    EXPECT_EQ(var.get("none"), "spam");
    return stealio::copy_context();
  });
  EXPECT_EQ(cur.size(), 1u);
  EXPECT_EQ(cur.get(var), "spam");
  EXPECT_EQ(ctx1.get(var), "spam");
  EXPECT_FALSE(ctx2.contains(var));
}

// test_context_run_2 and test_context_run_5.
TEST(Context, RunRestoresContextWhenFnThrows) {
  ContextVar<int> var("var");
  Context ctx;
  EXPECT_THROW(ctx.run([&] {
    var.set(1);
    throw std::logic_error("boom");
  }),
               std::logic_error);
  EXPECT_EQ(var.get(0), 0);                 // back in the caller's context
  EXPECT_EQ(ctx.get(var), 1);               // the set made before the throw stays in ctx
  EXPECT_EQ(ctx.run([] { return 3; }), 3);  // and ctx is no longer marked entered
}

// test_context_run_7.
TEST(Context, RunAlreadyEnteredSameThread) {
  Context ctx;
  ctx.run([&] {
    EXPECT_EQ(message_of<stealio::RuntimeError>([&] { ctx.run([] {}); }),
              "cannot enter context: " + ctx.repr() + " is already entered");
    Context alias = ctx;  // a copied handle is the same context
    EXPECT_THROW(alias.run([] {}), stealio::RuntimeError);
  });
}

TEST(Context, RunAlreadyEnteredOnAnotherThread) {
  Context ctx;
  std::latch entered(1);
  std::latch checked(1);
  std::thread runner([&] {
    ctx.run([&] {
      entered.count_down();
      checked.wait();
    });
  });
  entered.wait();
  EXPECT_EQ(message_of<stealio::RuntimeError>([&] { ctx.run([] {}); }),
            "cannot enter context: " + ctx.repr() + " is already entered");
  checked.count_down();
  runner.join();
  EXPECT_EQ(ctx.run([] { return 1; }), 1);
}

// test_context_copy_1.
TEST(Context, CopyIsIsolated) {
  ContextVar<int> c("c", 42);
  Context ctx1;
  ctx1.run([&] {
    c.set(10);
    Context ctx2 = ctx1.copy();
    EXPECT_EQ(ctx2.get(c), 10);
    c.set(20);
    EXPECT_EQ(ctx1.get(c), 20);
    EXPECT_EQ(ctx2.get(c), 10);  // a set after the copy is not seen by the copy
    ctx2.run([&] {
      EXPECT_EQ(c.get(), 10);
      c.set(30);
      EXPECT_EQ(c.get(), 30);
    });
    EXPECT_EQ(ctx1.get(c), 20);  // a set in the copy does not leak back
    EXPECT_EQ(ctx2.get(c), 30);
  });
}

// test_context_getset_5, with copy_context().
TEST(Context, CopyContextIsolated) {
  ContextVar<std::vector<int>> c("c");
  Token outer = c.set({});
  Context snap = stealio::copy_context();
  snap.run([&] {
    std::vector<int> v = c.get();
    v.push_back(42);
    c.set(v);
    EXPECT_EQ(c.get(), std::vector<int>{42});
  });
  EXPECT_TRUE(c.get().empty());
  c.set({1});
  EXPECT_EQ(snap.get(c), std::vector<int>{42});
  c.reset(outer);
}

TEST(ContextScope, NestsAndRestores) {
  ContextVar<int> var("var", 0);
  Context a;
  Context b;
  a.run([&] { var.set(1); });
  b.run([&] { var.set(2); });
  ContextSlot slot_a(a), slot_b(b), slot_a2(a);
  {
    ContextScope sa(slot_a);
    EXPECT_EQ(var.get(), 1);
    {
      ContextScope sb(slot_b);
      EXPECT_EQ(var.get(), 2);
      ContextScope sa2(slot_a2);  // no "already entered" check: a is current twice on this thread
      EXPECT_EQ(var.get(), 1);
      var.set(11);
    }
    EXPECT_EQ(var.get(), 11);
    EXPECT_EQ(b.get(var), 2);
    a.run([] {});  // a scope does not mark the context entered
  }
  EXPECT_EQ(var.get(), 0);
}

// A task's context is a copy of its creator's made on first need: until then it reads the
// mapping it inherited, unaffected by the creator's later sets; a set makes its own context,
// which then persists across scopes (a task's later steps), so a token made in one step resets
// in the next.
TEST(ContextSlot, ReadsTheInheritedMappingAndMakesItsOwnContextOnFirstSet) {
  ContextVar<int> var("var", 0);
  Context creator;
  creator.run([&] {
    var.set(1);
    ContextSlot slot = ContextSlot::inherit_current();
    var.set(2);  // after the copy: the slot must not see it
    std::optional<Token> token;
    {
      ContextScope step1(slot);
      EXPECT_EQ(var.get(), 1);
      EXPECT_EQ(stealio::copy_context().get(var), 1);
      token = var.set(5);
      EXPECT_EQ(var.get(), 5);
    }
    EXPECT_EQ(var.get(), 2);  // the slot's set stayed in the slot
    {
      ContextScope step2(slot);
      EXPECT_EQ(var.get(), 5);
      var.reset(*token);  // the same context as the set: no ValueError
      EXPECT_EQ(var.get(), 1);
    }
  });
}

TEST(ContextSlot, ASlotNotMadeYetPassesItsMappingOn) {
  ContextVar<int> var("var");
  Context creator;
  creator.run([&] {
    var.set(7);
    ContextSlot parent = ContextSlot::inherit_current();
    ContextScope in_parent(parent);
    ContextSlot child = ContextSlot::inherit_current();  // from a slot never made
    var.set(8);  // makes the parent's context; the child copied before
    ContextScope in_child(child);
    EXPECT_EQ(var.get(), 7);
  });
}

// Makes this thread hand on a mapping of its own, so that it no longer keeps the last one it
// handed on (context.cc keeps each thread's latest).
void hand_on_another_mapping() {
  static const ContextVar<int> marker("marker");
  Context elsewhere;
  elsewhere.run([] {
    marker.set(0);
    ContextSlot moved_on = ContextSlot::inherit_current();
  });
}

// A thread counts the references it hands to new slots in one proxy per mapping (context.cc):
// slots inherited from the same mapping share it, and a set or a reset in between starts
// another; every slot reads the mapping it was inherited from.
TEST(ContextSlot, SlotsInheritedAroundSetsAndResetsReadTheirOwnMapping) {
  ContextVar<int> var("var");
  Context creator;
  creator.run([&] {
    var.set(1);
    ContextSlot a = ContextSlot::inherit_current();
    ContextSlot a2 = ContextSlot::inherit_current();  // the same mapping again
    Token t = var.set(2);
    ContextSlot b = ContextSlot::inherit_current();
    var.reset(t);
    ContextSlot c = ContextSlot::inherit_current();
    auto seen = [&](ContextSlot& s) {
      ContextScope scope(s);
      return var.get();
    };
    EXPECT_EQ(seen(a), 1);
    EXPECT_EQ(seen(a2), 1);
    EXPECT_EQ(seen(b), 2);
    EXPECT_EQ(seen(c), 1);
  });
}

// The inherited mapping stays alive for the slot after the creator's context is gone and the
// thread has moved on to another mapping (AddressSanitizer checks the reads).
TEST(ContextSlot, AnInheritedMappingOutlivesItsCreatorsContext) {
  ContextVar<std::string> var("var");
  std::optional<ContextSlot> kept;
  {
    Context creator;
    creator.run([&] {
      var.set(std::string(100, 'x'));
      kept.emplace(ContextSlot::inherit_current());
    });
  }
  hand_on_another_mapping();
  ContextScope scope(*kept);
  EXPECT_EQ(var.get(), std::string(100, 'x'));
}

// get() reads a task's inherited value in place, without a reference, and copies it out. A copy
// that sets the variable being read makes the slot's own context and replaces the value in the
// middle of that read: the value must stay alive through it (the slot keeps its inherited
// mapping; AddressSanitizer checks).
struct SetsOnCopy {
  const ContextVar<SetsOnCopy>* var;  // set again by a copy; null: a plain value
  std::string payload;
  SetsOnCopy(const ContextVar<SetsOnCopy>* v, std::string p) : var(v), payload(std::move(p)) {}
  SetsOnCopy(SetsOnCopy&&) = default;
  SetsOnCopy(const SetsOnCopy& s) : var(nullptr) {
    if (s.var != nullptr) s.var->set(SetsOnCopy(nullptr, "replaced"));  // its token is dropped
    payload = s.payload;  // read after the set
  }
};

TEST(ContextSlot, AValueWhoseCopySetsItsVariableIsReadWhole) {
  ContextVar<SetsOnCopy> var("var");
  std::optional<ContextSlot> slot;
  {
    Context creator;
    creator.run([&] {
      var.set(SetsOnCopy(&var, std::string(100, 'p')));
      slot.emplace(ContextSlot::inherit_current());
    });
  }
  hand_on_another_mapping();  // only the slot holds the first mapping now
  ContextScope scope(*slot);
  SetsOnCopy got = var.get();
  EXPECT_EQ(got.payload, std::string(100, 'p'));
  EXPECT_EQ(var.get().payload, "replaced");
}

TEST(ContextSlot, AnEmptySlotHasNoValues) {
  ContextVar<int> var("var");
  ContextSlot empty;
  ContextScope scope(empty);
  EXPECT_THROW(var.get(), stealio::LookupError);
  EXPECT_EQ(stealio::copy_context().size(), 0u);
}

// Two tasks sharing one context run on two workers: both set variables in it at the same time.
// Run under ThreadSanitizer to check the mapping swap is race free.
TEST(ContextScope, SharedContextOnTwoThreads) {
  constexpr int kIters = 2000;
  ContextVar<int> shared("shared");
  ContextVar<int> mine0("mine0");
  ContextVar<int> mine1("mine1");
  Context ctx;
  std::latch start(2);
  auto body = [&](const ContextVar<int>& mine, int base) {
    ContextSlot slot(ctx);
    ContextScope scope(slot);
    start.arrive_and_wait();
    for (int i = 0; i < kIters; ++i) {
      mine.set(base + i);
      shared.set(base + i);
      EXPECT_EQ(mine.get(), base + i);  // the other thread's sets never lose this one
      int s = shared.get();
      EXPECT_TRUE((s >= 0 && s < kIters) || (s >= 100000 && s < 100000 + kIters)) << s;
      Context snap = stealio::copy_context();
      EXPECT_EQ(snap.get(mine), base + i);
    }
  };
  std::thread t0(body, std::cref(mine0), 0);
  std::thread t1(body, std::cref(mine1), 100000);
  t0.join();
  t1.join();
  EXPECT_EQ(ctx.get(mine0), kIters - 1);
  EXPECT_EQ(ctx.get(mine1), 100000 + kIters - 1);
  ASSERT_TRUE(ctx.contains(shared));
  EXPECT_EQ(ctx.size(), 3u);
}

// test_context_threads_1: each thread has its own base context.
TEST(Context, BaseContextIsPerThread) {
  ContextVar<int> var("var");
  Token t = var.set(-1);
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  std::vector<int> seen_before(kThreads, 0);
  std::vector<int> seen_after(kThreads, 0);
  std::latch all_set(kThreads);
  for (int n = 0; n < kThreads; ++n) {
    threads.emplace_back([&, n] {
      seen_before[n] = var.get(-2);  // nothing inherited from the spawning thread
      var.set(n);
      all_set.arrive_and_wait();  // every thread has set before any reads back
      seen_after[n] = var.get();
    });
  }
  for (auto& th : threads) th.join();
  for (int n = 0; n < kThreads; ++n) {
    EXPECT_EQ(seen_before[n], -2);
    EXPECT_EQ(seen_after[n], n);
  }
  EXPECT_EQ(var.get(), -1);
  var.reset(t);
}

TEST(Token, ResetFromAnotherThreadIsAnotherContext) {
  ContextVar<int> var("var");
  Token t = var.set(1);
  std::string msg;
  std::thread([&] { msg = message_of<stealio::ValueError>([&] { var.reset(t); }); }).join();
  EXPECT_EQ(msg, t.repr() + " was created in a different Context");
  var.reset(t);
}

}  // namespace
