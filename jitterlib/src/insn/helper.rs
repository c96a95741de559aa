//! The kernel helper functions a program can call, with their numbers from `enum bpf_func_id`.

/// Declares [`Helper`] from one table so that the variant, its number and its name cannot drift apart.
macro_rules! helpers {
    ($($(#[doc = $doc:literal])+ $variant:ident = $id:literal, $name:literal;)+) => {
        /// A kernel helper function, as called by `BPF_CALL` (the tracing-relevant subset).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Helper {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl Helper {
            /// Every helper, in order of its number.
            pub const ALL: &'static [Helper] = &[$(Helper::$variant,)+];

            /// The kernel's number for this helper (`BPF_FUNC_*`), the immediate of the call instruction.
            pub fn id(self) -> i32 {
                match self {
                    $(Helper::$variant => $id,)+
                }
            }

            /// The kernel's name for this helper, as the verifier prints it (`bpf_map_lookup_elem`).
            pub fn name(self) -> &'static str {
                match self {
                    $(Helper::$variant => $name,)+
                }
            }

            /// The helper with the kernel number `id`, if it is one this enum knows.
            pub fn from_id(id: i32) -> Option<Helper> {
                match id {
                    $($id => Some(Helper::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

helpers! {
    /// Looks up a key in a map; returns a pointer to the value or NULL (since 3.19).
    MapLookupElem = 1, "bpf_map_lookup_elem";
    /// Creates or updates a map element (since 3.19).
    MapUpdateElem = 2, "bpf_map_update_elem";
    /// Deletes a map element (since 3.19).
    MapDeleteElem = 3, "bpf_map_delete_elem";
    /// Reads kernel memory safely (since 4.1; prefer `ProbeReadKernel`).
    ProbeRead = 4, "bpf_probe_read";
    /// Monotonic time in nanoseconds, not counting suspend (since 4.1).
    KtimeGetNs = 5, "bpf_ktime_get_ns";
    /// Prints to the trace pipe (since 4.1).
    TracePrintk = 6, "bpf_trace_printk";
    /// A pseudo-random 32-bit number (since 4.1).
    GetPrandomU32 = 7, "bpf_get_prandom_u32";
    /// The current CPU number (since 4.1).
    GetSmpProcessorId = 8, "bpf_get_smp_processor_id";
    /// Jumps into another program of a program array (since 4.2).
    TailCall = 12, "bpf_tail_call";
    /// `tgid << 32 | pid` of the current task (since 4.2).
    GetCurrentPidTgid = 14, "bpf_get_current_pid_tgid";
    /// `gid << 32 | uid` of the current task (since 4.2).
    GetCurrentUidGid = 15, "bpf_get_current_uid_gid";
    /// Copies the current task's command name (since 4.2).
    GetCurrentComm = 16, "bpf_get_current_comm";
    /// Reads a perf event counter (since 4.3).
    PerfEventRead = 22, "bpf_perf_event_read";
    /// Sends a record to a perf event array (since 4.4).
    PerfEventOutput = 25, "bpf_perf_event_output";
    /// Walks the stack and stores it in a stack trace map, returning its id (since 4.6).
    GetStackid = 27, "bpf_get_stackid";
    /// The current `task_struct` pointer (since 4.8).
    GetCurrentTask = 35, "bpf_get_current_task";
    /// Writes into the current task's user memory (since 4.8; the kernel logs a warning when a program using it
    /// loads).
    ProbeWriteUser = 36, "bpf_probe_write_user";
    /// The NUMA node of the current CPU (since 4.10).
    GetNumaNodeId = 42, "bpf_get_numa_node_id";
    /// Reads a NUL-terminated string from kernel memory (since 4.11; prefer `ProbeReadKernelStr`).
    ProbeReadStr = 45, "bpf_probe_read_str";
    /// Overrides the return value of a kprobed function (since 4.16).
    OverrideReturn = 58, "bpf_override_return";
    /// Copies a stack trace into a buffer (since 4.18).
    GetStack = 67, "bpf_get_stack";
    /// The cgroup v2 id of the current task (since 4.18).
    GetCurrentCgroupId = 80, "bpf_get_current_cgroup_id";
    /// Sends a signal to the current process (since 5.3).
    SendSignal = 109, "bpf_send_signal";
    /// Reads user memory safely (since 5.5).
    ProbeReadUser = 112, "bpf_probe_read_user";
    /// Reads kernel memory safely (since 5.5).
    ProbeReadKernel = 113, "bpf_probe_read_kernel";
    /// Reads a NUL-terminated string from user memory (since 5.5).
    ProbeReadUserStr = 114, "bpf_probe_read_user_str";
    /// Reads a NUL-terminated string from kernel memory (since 5.5).
    ProbeReadKernelStr = 115, "bpf_probe_read_kernel_str";
    /// Sends a signal to the current thread (since 5.5).
    SendSignalThread = 117, "bpf_send_signal_thread";
    /// The jiffies counter (since 5.5).
    Jiffies64 = 118, "bpf_jiffies64";
    /// pid and tgid of the current task as seen from a pid namespace (since 5.7).
    GetNsCurrentPidTgid = 120, "bpf_get_ns_current_pid_tgid";
    /// The cgroup id of an ancestor of the current task's cgroup (since 5.7).
    GetCurrentAncestorCgroupId = 123, "bpf_get_current_ancestor_cgroup_id";
    /// Monotonic time in nanoseconds, counting suspend (since 5.8).
    KtimeGetBootNs = 125, "bpf_ktime_get_boot_ns";
    /// Copies a record into a ring buffer (since 5.8).
    RingbufOutput = 130, "bpf_ringbuf_output";
    /// Reserves space in a ring buffer (since 5.8).
    RingbufReserve = 131, "bpf_ringbuf_reserve";
    /// Submits reserved ring buffer space (since 5.8).
    RingbufSubmit = 132, "bpf_ringbuf_submit";
    /// Discards reserved ring buffer space (since 5.8).
    RingbufDiscard = 133, "bpf_ringbuf_discard";
    /// Queries ring buffer state (since 5.8).
    RingbufQuery = 134, "bpf_ringbuf_query";
    /// Copies the kernel stack of a given task (since 5.9).
    GetTaskStack = 141, "bpf_get_task_stack";
    /// Resolves a `struct path` into a string (since 5.10).
    DPath = 147, "bpf_d_path";
    /// Pointer to a per-CPU variable on a given CPU (since 5.10).
    PerCpuPtr = 153, "bpf_per_cpu_ptr";
    /// Pointer to a per-CPU variable on the current CPU (since 5.10).
    ThisCpuPtr = 154, "bpf_this_cpu_ptr";
    /// The current `task_struct` as a BTF pointer (since 5.11).
    GetCurrentTaskBtf = 158, "bpf_get_current_task_btf";
    /// Coarse monotonic time in nanoseconds (since 5.11).
    KtimeGetCoarseNs = 160, "bpf_ktime_get_coarse_ns";
    /// Calls a callback for each element of a map; returns how many it visited (since 5.13).
    ForEachMapElem = 164, "bpf_for_each_map_elem";
    /// Formats a string into a buffer (since 5.13).
    Snprintf = 165, "bpf_snprintf";
    /// Initialises a `struct bpf_timer` in a map value (since 5.15).
    TimerInit = 169, "bpf_timer_init";
    /// Sets the subprogram a `bpf_timer` calls, in HRTIMER softirq (since 5.15).
    TimerSetCallback = 170, "bpf_timer_set_callback";
    /// Arms a `bpf_timer` (since 5.15).
    TimerStart = 171, "bpf_timer_start";
    /// Address of the traced function (since 5.15).
    GetFuncIp = 173, "bpf_get_func_ip";
    /// The cookie given at attach time (since 5.15).
    GetAttachCookie = 174, "bpf_get_attach_cookie";
    /// Prints to the trace pipe with more than three arguments (since 5.16).
    TraceVprintk = 177, "bpf_trace_vprintk";
    /// The address of a kernel symbol by name, in `BPF_PROG_TYPE_SYSCALL` programs (since 5.16).
    KallsymsLookupName = 179, "bpf_kallsyms_lookup_name";
    /// Calls a callback a bounded number of times (since 5.17).
    Loop = 181, "bpf_loop";
    /// Reads an argument of the traced function in fentry/fexit (since 5.17).
    GetFuncArg = 183, "bpf_get_func_arg";
    /// Reads the return value of the traced function in fexit (since 5.17).
    GetFuncRet = 184, "bpf_get_func_ret";
    /// Number of arguments of the traced function (since 5.17).
    GetFuncArgCnt = 185, "bpf_get_func_arg_cnt";
    /// Looks up a key of a per-CPU map on a given CPU (since 5.19).
    MapLookupPercpuElem = 195, "bpf_map_lookup_percpu_elem";
    /// TAI time in nanoseconds (since 6.1).
    KtimeGetTaiNs = 208, "bpf_ktime_get_tai_ns";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_the_kernel_uapi_numbers() {
        assert_eq!(Helper::MapLookupElem.id(), 1);
        assert_eq!(Helper::KtimeGetNs.id(), 5);
        assert_eq!(Helper::GetCurrentPidTgid.id(), 14);
        assert_eq!(Helper::ProbeReadKernel.id(), 113);
        assert_eq!(Helper::RingbufOutput.id(), 130);
        assert_eq!(Helper::GetFuncIp.id(), 173);
    }

    #[test]
    fn from_id_inverts_id_and_names_are_unique() {
        for &helper in Helper::ALL {
            assert_eq!(Helper::from_id(helper.id()), Some(helper));
            assert!(helper.name().starts_with("bpf_"));
        }
        let mut names: Vec<_> = Helper::ALL.iter().map(|h| h.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Helper::ALL.len());
        assert_eq!(Helper::from_id(0), None);
        assert_eq!(Helper::from_id(9), None);
    }

    #[test]
    fn ids_are_in_increasing_order() {
        assert!(Helper::ALL.windows(2).all(|pair| pair[0].id() < pair[1].id()));
    }
}
