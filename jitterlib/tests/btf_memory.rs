//! The BTF reader does not hold the kernel's BTF blob: opening it and answering what the timer probes ask
//! (struct members, a raw tracepoint's arguments, a function's parameters) allocates a fraction of its size,
//! all of it when opening (where types start, and which named types there are): lookups build no index.
//! A test binary of its own, so that its counting allocator sees this work only.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use jitterlib::kernel::Btf;

/// The system allocator, counting the bytes allocated now and the most ever allocated at once.
struct Counting;

static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call goes to the system allocator unchanged; the counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = NOW.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        NOW.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

#[test]
fn answers_without_holding_the_blob() {
    let Ok(blob_size) = std::fs::metadata(VMLINUX_BTF).map(|meta| meta.len() as usize) else {
        eprintln!("SKIPPED: {VMLINUX_BTF} is absent (kernel without CONFIG_DEBUG_INFO_BTF)");
        return;
    };
    let before = NOW.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let btf = Btf::read(Path::new(VMLINUX_BTF)).unwrap();
    let expires = btf.struct_member("timer_list", "expires").unwrap().expect("struct timer_list has expires");
    assert!(btf.struct_member("timer_list", "function").unwrap().is_some());
    let opened = PEAK.load(Ordering::Relaxed) - before;
    let entry = btf.raw_tracepoint_params("timer_expire_entry").unwrap().expect("timer_expire_entry has BTF");
    assert_eq!(entry[0], ("timer".to_string(), "struct timer_list *".to_string()));
    assert!(btf.function_params("run_timer_softirq").unwrap().is_some());
    let all = PEAK.load(Ordering::Relaxed) - before;
    let held = NOW.load(Ordering::Relaxed) - before;
    eprintln!(
        "BTF blob {blob_size} B; peak allocated: {opened} B for struct members, {all} B with functions; \
         held after: {held} B; expires at {}",
        expires.offset
    );
    assert!(all < blob_size / 5, "opening and lookups allocated {all} B at peak");
    assert!(all - opened < blob_size / 64, "function lookups allocated {} B beyond the opening's", all - opened);
}
