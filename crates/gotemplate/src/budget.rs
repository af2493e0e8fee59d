//! The render budget: what one execution may build and how long it may run,
//! counted per execution on the executing thread, so that no template —
//! whatever functions it calls, in whatever order — can exhaust the node's
//! memory or hold a CPU past its time limit.
//!
//! The executor does most of the counting itself: it charges every value a
//! function call returns that the call built (strings, lists, maps, all the
//! way down through what is new), and looks at the clock before every call
//! and every loop iteration. What the executor cannot see is charged by the
//! code that does it, through this module:
//! - writers of unbounded output (`print`, `printf`, JSON encoding, the
//!   escapers) stop once what they wrote exceeds [`room`];
//! - functions that predict a large result ([`reserve`]) or change a map in
//!   place ([`charge`]) account for it before building;
//! - deep walks and quadratic loops count work ([`tick`]), so the clock is
//!   read inside them too;
//! - expensive calls (key generation, bcrypt, scrypt) declare their cost
//!   ([`spend`]) before they start, and fail at once when the time left
//!   cannot cover it.
//!
//! Once a bound is exceeded the budget stays exhausted: every later charge
//! fails, and the executor turns the call that ran into it into an error
//! naming the bound, whatever the function returned.
//!
//! Outside an execution (a function called directly) nothing accumulates and
//! time is not bounded, but no single result may be larger than a default
//! execution's whole budget.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// The bytes charged for the slot of one list element, and the part of one
/// map entry that is not its key or value.
pub const SLOT: usize = std::mem::size_of::<crate::Value>();
/// The bytes charged for one string beyond its text (its allocation).
pub const STRING: usize = 16;
/// The bytes charged for one list or map beyond its elements.
pub const CONTAINER: usize = 64;
/// The bytes charged for one map entry beyond its key's text and its value.
pub const ENTRY: usize = 64;

/// Which bound an execution ran into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exhausted {
    /// More bytes built than the limit.
    Built { limit: usize },
    /// Past the time limit, or a call that would take it there.
    Time { limit: Duration },
}

impl std::fmt::Display for Exhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exhausted::Built { limit } => {
                write!(f, "values built exceed the limit of {limit} bytes")
            }
            Exhausted::Time { limit } => {
                write!(f, "execution exceeded the time limit of {limit:?}")
            }
        }
    }
}

/// The bytes an execution may build unless its limits say otherwise.
pub const DEFAULT_MAX_BUILT_BYTES: usize = 16 * 1024 * 1024;

/// Clock reads inside a function are rationed: one per this many ticks.
const TICKS_PER_CLOCK: u32 = 256;

#[derive(Clone, Copy)]
struct State {
    active: bool,
    built: usize,
    max_built: usize,
    start: Option<Instant>,
    timeout: Duration,
    ticks: u32,
    exhausted: Option<Exhausted>,
}

const IDLE: State = State {
    active: false,
    built: 0,
    max_built: DEFAULT_MAX_BUILT_BYTES,
    start: None,
    timeout: Duration::MAX,
    ticks: 0,
    exhausted: None,
};

thread_local! {
    static STATE: Cell<State> = const { Cell::new(IDLE) };
}

fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|cell| {
        let mut state = cell.get();
        let r = f(&mut state);
        cell.set(state);
        r
    })
}

/// The budget of one execution, active on this thread until dropped (the
/// previous one, if executions nest, comes back).
pub(crate) struct Scope {
    saved: State,
}

impl Scope {
    pub(crate) fn enter(max_built: usize, timeout: Duration, start: Instant) -> Scope {
        let saved = STATE.with(|cell| {
            cell.replace(State {
                active: true,
                built: 0,
                max_built,
                start: Some(start),
                timeout,
                ticks: 0,
                exhausted: None,
            })
        });
        Scope { saved }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        STATE.with(|cell| cell.set(self.saved));
    }
}

impl State {
    fn trip(&mut self, why: Exhausted) -> Exhausted {
        *self.exhausted.get_or_insert(why)
    }

    fn over_time(&self, extra: Duration) -> bool {
        self.start
            .is_some_and(|start| start.elapsed().saturating_add(extra) > self.timeout)
    }

    fn time_exhausted(&mut self) -> Exhausted {
        let limit = self.timeout;
        self.trip(Exhausted::Time { limit })
    }

    fn built_exhausted(&mut self) -> Exhausted {
        let limit = self.max_built;
        self.trip(Exhausted::Built { limit })
    }
}

/// The bound this execution ran into, if it did.
pub fn exhausted() -> Option<Exhausted> {
    with(|s| s.exhausted)
}

/// Bytes this execution may still build (0 once it ran into a bound; a
/// default execution's budget outside one).
pub fn room() -> usize {
    with(|s| {
        if s.exhausted.is_some() {
            0
        } else {
            s.max_built.saturating_sub(s.built)
        }
    })
}

/// Counts `bytes` as built; fails once the total exceeds the limit.
pub fn charge(bytes: usize) -> Result<(), Exhausted> {
    with(|s| {
        if let Some(why) = s.exhausted {
            return Err(why);
        }
        if !s.active {
            return Ok(());
        }
        s.built = s.built.saturating_add(bytes);
        if s.built > s.max_built {
            return Err(s.built_exhausted());
        }
        Ok(())
    })
}

/// Fails, exhausting the budget, when a result of `bytes` (what the
/// executor will charge for it) cannot fit in what is left: for functions
/// that know their result's size before building it.
pub fn reserve(bytes: usize) -> Result<(), Exhausted> {
    with(|s| {
        if let Some(why) = s.exhausted {
            return Err(why);
        }
        if s.built.saturating_add(bytes) <= s.max_built {
            return Ok(());
        }
        if !s.active {
            // Outside an execution: refused, but nothing to exhaust.
            return Err(Exhausted::Built { limit: s.max_built });
        }
        Err(s.built_exhausted())
    })
}

/// One unit of work inside a function (a node of a deep walk, a step of a
/// quadratic loop); fails once the budget is exhausted or the time is up.
pub fn tick() -> Result<(), Exhausted> {
    with(|s| {
        if let Some(why) = s.exhausted {
            return Err(why);
        }
        s.ticks = s.ticks.wrapping_add(1);
        if s.ticks % TICKS_PER_CLOCK == 0 && s.over_time(Duration::ZERO) {
            return Err(s.time_exhausted());
        }
        Ok(())
    })
}

/// Fails at once, exhausting the budget, when the time left cannot cover a
/// call that takes about `cost` (key generation, bcrypt): such calls are
/// charged by what they cost before they run, not after.
pub fn spend(cost: Duration) -> Result<(), Exhausted> {
    with(|s| {
        if let Some(why) = s.exhausted {
            return Err(why);
        }
        if s.over_time(cost) {
            return Err(s.time_exhausted());
        }
        Ok(())
    })
}

/// Whether the time is up (the executor's check at calls and iterations).
pub(crate) fn check_clock() -> Result<(), Exhausted> {
    spend(Duration::ZERO)
}

/// What building `v` cost, counting only what is new: a string, list or
/// map nobody else holds (just built and returned), and inside a new list
/// or map what is new there; values shared with the data, variables or
/// arguments cost nothing again.
pub fn fresh_bytes(v: &crate::Value) -> usize {
    fresh_bytes_at(v, 0)
}

fn fresh_bytes_at(v: &crate::Value, depth: usize) -> usize {
    use crate::Value;
    use std::sync::Arc;
    if depth > crate::MAX_NESTING {
        return 0;
    }
    match v {
        Value::Str(s) if Arc::strong_count(s) == 1 => STRING + s.len(),
        Value::List(l) if Arc::strong_count(l) == 1 => l
            .items
            .iter()
            .fold(CONTAINER + l.items.len() * SLOT, |sum, item| {
                sum.saturating_add(fresh_bytes_at(item, depth + 1))
            }),
        Value::Map(m) if Arc::strong_count(m) == 1 => m.fold(CONTAINER, |sum, key, value| {
            let key_bytes = if Arc::strong_count(key) == 1 {
                STRING + key.len()
            } else {
                0
            };
            sum.saturating_add(ENTRY + key_bytes + fresh_bytes_at(value, depth + 1))
        }),
        Value::Object(o) if Arc::strong_count(o) == 1 => CONTAINER,
        _ => 0,
    }
}

/// What a function builds, counted as it goes against the room left when
/// it started, so a large result stops early instead of being charged
/// after it was built; the total is what the executor will charge.
pub struct Tally {
    bytes: usize,
    room: usize,
}

impl Default for Tally {
    fn default() -> Tally {
        Tally::new()
    }
}

impl Tally {
    pub fn new() -> Tally {
        Tally {
            bytes: 0,
            room: room(),
        }
    }

    /// Adds `bytes`; fails, exhausting the budget, once the total cannot fit.
    pub fn add(&mut self, bytes: usize) -> Result<(), Exhausted> {
        self.bytes = self.bytes.saturating_add(bytes);
        if self.bytes > self.room {
            return reserve(self.bytes);
        }
        Ok(())
    }

    /// Adds one new string of `len` bytes in a list slot.
    pub fn add_string(&mut self, len: usize) -> Result<(), Exhausted> {
        self.add(SLOT + STRING + len)
    }
}

/// Where a writer that starts with `out` must stop: past it, what it wrote
/// cannot fit in the budget.
pub fn write_limit(out: &str) -> usize {
    out.len().saturating_add(room())
}

/// For a writer that went past its [`write_limit`]: exhausts the budget
/// with what it wrote (`written` bytes) and says so.
pub fn overrun(written: usize) -> Exhausted {
    match reserve(written.max(1)) {
        Err(why) => why,
        // Room came back (it cannot within one execution): report it as
        // the bytes bound all the same.
        Ok(()) => Exhausted::Built {
            limit: with(|s| s.max_built),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_an_execution_only_single_results_are_bounded() {
        assert_eq!(room(), DEFAULT_MAX_BUILT_BYTES);
        assert!(charge(usize::MAX).is_ok());
        assert!(reserve(DEFAULT_MAX_BUILT_BYTES).is_ok());
        assert!(reserve(DEFAULT_MAX_BUILT_BYTES + 1).is_err());
        assert!(spend(Duration::from_secs(1_000_000)).is_ok());
        assert_eq!(exhausted(), None, "nothing stays exhausted");
        assert_eq!(room(), DEFAULT_MAX_BUILT_BYTES, "nothing accumulates");
    }

    #[test]
    fn charges_past_the_limit_exhaust_the_budget_for_good() {
        let _scope = Scope::enter(100, Duration::from_secs(10), Instant::now());
        assert!(charge(60).is_ok());
        assert_eq!(room(), 40);
        assert!(reserve(40).is_ok());
        let built = Exhausted::Built { limit: 100 };
        assert_eq!(reserve(41), Err(built));
        assert_eq!(charge(1), Err(built), "exhausted stays exhausted");
        assert_eq!(room(), 0);
        assert_eq!(tick(), Err(built));
    }

    #[test]
    fn a_costly_call_fails_before_it_runs_when_time_cannot_cover_it() {
        let _scope = Scope::enter(100, Duration::from_millis(500), Instant::now());
        assert!(spend(Duration::from_millis(100)).is_ok());
        let time = Exhausted::Time {
            limit: Duration::from_millis(500),
        };
        assert_eq!(spend(Duration::from_secs(1)), Err(time));
        assert_eq!(exhausted(), Some(time));
    }

    #[test]
    fn the_outer_budget_comes_back_after_a_nested_one() {
        let _outer = Scope::enter(100, Duration::from_secs(10), Instant::now());
        assert!(charge(10).is_ok());
        {
            let _inner = Scope::enter(5, Duration::from_secs(10), Instant::now());
            assert!(charge(6).is_err());
        }
        assert_eq!(room(), 90);
        assert_eq!(exhausted(), None);
    }
}
