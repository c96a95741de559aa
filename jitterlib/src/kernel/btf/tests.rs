//! The BTF reader against hand-built blobs (plain and split) and the running kernel.

use super::*;

/// Builds a small BTF blob type by type, the way pahole lays it out.
#[derive(Default)]
pub(super) struct BlobBuilder {
    types: Vec<u8>,
    strings: Vec<u8>,
    /// For split BTF: the base's string section size, added to every name offset.
    string_base: u32,
}

impl BlobBuilder {
    pub(super) fn new() -> BlobBuilder {
        BlobBuilder { types: Vec::new(), strings: vec![0], string_base: 0 }
    }

    pub(super) fn name(&mut self, name: &str) -> u32 {
        if name.is_empty() {
            return 0;
        }
        let offset = self.string_base + self.strings.len() as u32;
        self.strings.extend_from_slice(name.as_bytes());
        self.strings.push(0);
        offset
    }

    pub(super) fn words(&mut self, words: &[u32]) {
        for word in words {
            self.types.extend_from_slice(&word.to_ne_bytes());
        }
    }

    pub(super) fn record(&mut self, name: &str, kind: u32, vlen: u32, kind_flag: bool, size_or_type: u32) {
        let name_off = self.name(name);
        let info = (kind << 24) | vlen | if kind_flag { 1 << 31 } else { 0 };
        self.words(&[name_off, info, size_or_type]);
    }

    pub(super) fn members(&mut self, members: &[(&str, u32, u32)]) {
        for &(name, type_id, offset) in members {
            let name_off = self.name(name);
            self.words(&[name_off, type_id, offset]);
        }
    }

    pub(super) fn finish(self) -> Vec<u8> {
        let mut blob = Vec::new();
        blob.extend_from_slice(&MAGIC.to_ne_bytes());
        blob.extend_from_slice(&[1, 0]);
        let types_len = self.types.len() as u32;
        for word in [24, 0, types_len, types_len, self.strings.len() as u32] {
            blob.extend_from_slice(&word.to_ne_bytes());
        }
        blob.extend_from_slice(&self.types);
        blob.extend_from_slice(&self.strings);
        blob
    }
}

/// `struct outer { int x; union { int a; struct outer *b; }; u8 pad; unsigned char flags:3 (at bit 133);
/// const unsigned char name[16]; }` and `int my_fn(struct outer *skb, int len)`.
fn sample_blob() -> Vec<u8> {
    let mut blob = BlobBuilder::new();
    blob.record("int", KIND_INT, 0, false, 4); // 1
    blob.words(&[(1 << 24) | 32]);
    blob.record("unsigned char", KIND_INT, 0, false, 1); // 2
    blob.words(&[8]);
    blob.record("", KIND_ARRAY, 0, false, 0); // 3
    blob.words(&[2, 1, 16]);
    blob.record("", KIND_UNION, 2, false, 8); // 4
    blob.members(&[("a", 1, 0), ("b", 5, 0)]);
    blob.record("", KIND_PTR, 0, false, 6); // 5
    blob.record("outer", KIND_STRUCT, 4, true, 40); // 6
    blob.members(&[("x", 1, 0), ("", 4, 64), ("flags", 2, (3 << 24) | 133), ("name", 7, 192)]);
    blob.record("", KIND_CONST, 0, false, 3); // 7
    blob.record("", KIND_FUNC_PROTO, 2, false, 1); // 8
    blob.members_of_proto(&[("skb", 5), ("len", 1)]);
    blob.record("my_fn", KIND_FUNC, 0, false, 8); // 9
    blob.record("outer", KIND_FWD, 0, false, 0); // 10
    blob.record("", KIND_FUNC_PROTO, 2, false, 0); // 11
    blob.members_of_proto(&[("", 12), ("skb", 5)]);
    blob.record("", KIND_PTR, 0, false, 0); // 12: void *
    blob.record("", KIND_PTR, 0, false, 11); // 13
    blob.record("btf_trace_my_event", KIND_TYPEDEF, 0, false, 13); // 14
    blob.record("btf_trace_other", KIND_TYPEDEF, 0, false, 13); // 15
    blob.record("", KIND_FUNC_PROTO, 2, false, 0); // 16
    blob.members_of_proto(&[("__data", 12), ("buf", 5)]);
    blob.record("__bpf_trace_my_event", KIND_FUNC, 0, false, 16); // 17
    blob.record("wrap", KIND_STRUCT, 2, false, 48); // 18
    blob.members(&[("tag", 1, 0), ("inner", 6, 64)]);
    blob.finish()
}

impl BlobBuilder {
    pub(super) fn members_of_proto(&mut self, params: &[(&str, u32)]) {
        for &(name, type_id) in params {
            let name_off = self.name(name);
            self.words(&[name_off, type_id]);
        }
    }
}

fn sample() -> Btf {
    Btf::parse(Path::new("sample"), sample_blob()).unwrap()
}

/// The base's string section size, where a split blob's name offsets start.
fn base_strings_of(blob: &[u8]) -> u32 {
    u32::from_ne_bytes(blob[20..24].try_into().unwrap())
}

#[test]
fn split_btf_continues_the_base_ids_and_names() {
    let base = sample();
    let mut module = BlobBuilder { string_base: base_strings_of(&sample_blob()), ..BlobBuilder::new() };
    module.record("mod_s", KIND_STRUCT, 2, false, 48); // 19, after the base's 18 types
    module.members(&[("timer", 6, 0), ("n", 1, 320)]);
    let btf = Btf::parse_split(&base, Path::new("module"), module.finish()).expect("parses");
    assert_eq!(btf.type_count(), 19);
    let n = btf.struct_member("mod_s", "n").unwrap().unwrap();
    assert_eq!((n.offset, n.size, n.type_name.as_str()), (40, 4, "int"));
    let through_base = btf.struct_member("mod_s", "timer.x").unwrap().unwrap();
    assert_eq!((through_base.offset, through_base.type_name.as_str()), (0, "int"));
    assert!(btf.struct_member("outer", "name").unwrap().is_some(), "the base's own structs still resolve");
    assert_eq!(base.type_count(), 18, "the base is left as it was");
    assert_eq!(base.struct_member("mod_s", "n").unwrap(), None);
}

/// Split BTF reuses the base's strings for names the base already has (libbpf's dedup does): a module
/// struct and function named by base offsets are found, in the base's strings.
#[test]
fn split_btf_names_can_live_in_the_base_strings() {
    let base_blob = sample_blob();
    let base = sample();
    let strings = &base_blob[base_blob.len() - base_strings_of(&base_blob) as usize..];
    let offset_of = |name: &str| {
        let wanted = [name.as_bytes(), b"\0"].concat();
        strings.windows(wanted.len()).position(|window| window == wanted).unwrap() as u32
    };
    let mut module = BlobBuilder { string_base: base_strings_of(&base_blob), ..BlobBuilder::new() };
    module.words(&[offset_of("len"), (KIND_STRUCT << 24) | 1, 4]); // 19: struct len { int skb; }
    module.words(&[offset_of("skb"), 1, 0]);
    module.words(&[offset_of("tag"), KIND_FUNC << 24, 8]); // 20: int tag(struct outer *skb, int len)
    let btf = Btf::parse_split(&base, Path::new("module"), module.finish()).expect("parses");
    let skb = btf.struct_member("len", "skb").unwrap().unwrap();
    assert_eq!((skb.offset, skb.type_name.as_str()), (0, "int"));
    assert_eq!(btf.function_id("tag").unwrap(), Some(20));
    assert_eq!(btf.function_params("tag").unwrap().unwrap()[1], ("len".to_string(), "int".to_string()));
}

/// Where two types share a name, the first complete one wins, forward declarations (no size, no members)
/// only when nothing else has the name: the index returns every candidate, in id order.
#[test]
fn a_complete_struct_beats_an_earlier_empty_one() {
    let mut blob = BlobBuilder::new();
    blob.record("int", KIND_INT, 0, false, 4); // 1
    blob.words(&[(1 << 24) | 32]);
    blob.record("dup", KIND_STRUCT, 0, false, 0); // 2: empty, declared only
    blob.record("dup", KIND_STRUCT, 1, false, 8); // 3
    blob.members(&[("v", 1, 32)]);
    blob.record("only_empty", KIND_STRUCT, 0, false, 0); // 4
    let btf = Btf::parse(Path::new("dup"), blob.finish()).unwrap();
    assert_eq!(btf.struct_member("dup", "v").unwrap().unwrap().offset, 4);
    assert_eq!(btf.struct_members("only_empty", "").unwrap(), Some(Vec::new()));
    assert_eq!(btf.find_record("dup").unwrap(), Some(3));
}

/// A name is found wherever the strings hold it: a whole string (however many times it is written), or the
/// end of a longer string that a type's name offset points into; a longer name that ends or starts with it is
/// another name, and a struct is not a function. Found by a search of the strings (the first lookups of a blob
/// read in place), through the table of name hashes (later ones, and every lookup of a blob read from a file),
/// the answers are the same.
#[test]
fn names_are_found_whole_or_at_the_end_of_a_longer_string() {
    let mut blob = BlobBuilder::new();
    blob.record("int", KIND_INT, 0, false, 4); // 1
    blob.words(&[(1 << 24) | 32]);
    blob.record("__sk_buff", KIND_STRUCT, 1, false, 4); // 2
    blob.members(&[("a", 1, 0)]);
    let tail = blob.name("__my_tail") + 2;
    blob.words(&[tail, (KIND_STRUCT << 24) | 1, 8]); // 3: struct my_tail, named by the end of "__my_tail"
    blob.members(&[("b", 1, 32)]);
    blob.record("sk_buff_head", KIND_STRUCT, 0, false, 0); // 4
    blob.record("sk_buff", KIND_STRUCT, 1, false, 8); // 5
    blob.members(&[("c", 1, 32)]);
    blob.record("", KIND_FUNC_PROTO, 0, false, 1); // 6
    blob.record("sk_buff", KIND_FUNC, 0, false, 6); // 7: the name written a second time
    let blob = blob.finish();
    let from_file = || {
        let path = std::env::temp_dir().join(format!("jl-btf-names-{}", std::process::id()));
        std::fs::write(&path, &blob).unwrap();
        let file = File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        Btf::open(Path::new("names"), Source::File(file), None).unwrap()
    };
    let in_place = || Btf::parse(Path::new("names"), blob.clone()).unwrap();
    let after_many_lookups = || {
        let btf = in_place();
        for _ in 0..Family::Functions.searches_before_table() {
            assert_eq!((btf.find_record("none").unwrap(), btf.function_id("none").unwrap()), (None, None));
        }
        btf
    };
    let ways: [(&str, &dyn Fn() -> Btf); 3] =
        [("searched", &in_place), ("table after many lookups", &after_many_lookups), ("table of a file", &from_file)];
    for (way, open) in ways {
        let record = |name: &str| open().find_record(name).unwrap();
        assert_eq!(record("sk_buff"), Some(5), "{way}");
        assert_eq!(record("__sk_buff"), Some(2), "{way}");
        assert_eq!(record("sk_buff_head"), Some(4), "{way}");
        assert_eq!(record("my_tail"), Some(3), "{way}");
        assert_eq!(open().struct_member("my_tail", "b").unwrap().unwrap().offset, 4, "{way}");
        assert_eq!(record("__my_tail"), None, "{way}: no type points at the whole string");
        assert_eq!(record("buff"), None, "{way}");
        assert_eq!(record(""), None, "{way}");
        assert_eq!(record("sk_buff\0"), None, "{way}");
        assert_eq!(open().function_id("sk_buff").unwrap(), Some(7), "{way}");
        assert_eq!(open().function_id("__sk_buff").unwrap(), None, "{way}");
    }
}

#[test]
fn reads_plain_members() {
    let btf = sample();
    assert_eq!(btf.type_count(), 18);
    let x = btf.struct_member("outer", "x").unwrap().unwrap();
    assert_eq!((x.offset, x.size, x.bit_offset, x.type_name.as_str()), (0, 4, None, "int"));
    let name = btf.struct_member("outer", "name").unwrap().unwrap();
    assert_eq!((name.offset, name.size), (24, 16));
    assert_eq!(name.type_name, "const unsigned char[16]");
}

#[test]
fn descends_into_anonymous_unions() {
    let btf = sample();
    let a = btf.struct_member("outer", "a").unwrap().unwrap();
    assert_eq!((a.offset, a.size), (8, 4));
    let b = btf.struct_member("outer", "b").unwrap().unwrap();
    assert_eq!((b.offset, b.size, b.type_name.as_str()), (8, 8, "struct outer *"));
}

#[test]
fn classifies_member_types() {
    let btf = sample();
    let kind = |m: &str| btf.struct_member("outer", m).unwrap().unwrap().kind;
    assert_eq!(kind("x"), MemberKind::Int { signed: true });
    assert_eq!(kind("flags"), MemberKind::Int { signed: false });
    assert_eq!(kind("b"), MemberKind::Pointer { target: Some("outer".into()) });
    let text = MemberKind::Array { element: Box::new(MemberKind::Int { signed: false }), count: 16, text: true };
    assert_eq!(kind("name"), text);
    assert_eq!(btf.struct_member("wrap", "inner").unwrap().unwrap().kind, MemberKind::Record);
}

#[test]
fn follows_member_paths_through_embedded_structs() {
    let btf = sample();
    let name = btf.struct_member("wrap", "inner.name").unwrap().unwrap();
    assert_eq!((name.offset, name.size), (8 + 24, 16));
    let b = btf.struct_member("wrap", "inner.b").unwrap().unwrap();
    assert_eq!(b.offset, 16, "through the anonymous union of the embedded struct");
    assert_eq!(btf.struct_member("wrap", "inner.missing").unwrap(), None);
    assert_eq!(btf.struct_member("wrap", "tag.x").unwrap(), None, "an int has no members");
}

#[test]
fn lists_members_with_anonymous_ones_flattened() {
    let btf = sample();
    let names = ["x", "a", "b", "flags", "name"].map(String::from).to_vec();
    assert_eq!(btf.struct_members("outer", "").unwrap(), Some(names.clone()));
    assert_eq!(btf.struct_members("wrap", "inner").unwrap(), Some(names));
    assert_eq!(btf.struct_members("wrap", "tag").unwrap(), None);
    assert_eq!(btf.struct_members("nothing", "").unwrap(), None);
}

/// `jl -lv 'struct outer'`: the struct as C, as bpftrace prints it (libbpf's layout: tabs, `name: width`, and
/// the gaps the compiler would not leave written as padding: `flags` 5 bits after the union's end, `name` at
/// byte 24 where a byte array would follow `flags` at byte 17 unless `long: 0` aligns it).
#[test]
fn writes_structs_as_c() {
    let btf = sample();
    let outer = "struct outer {\n\tint x;\n\tunion {\n\t\tint a;\n\t\tstruct outer *b;\n\t};\n\tchar: 5;\n\
                 \tunsigned char flags: 3;\n\tlong: 0;\n\tconst unsigned char name[16];\n};\n";
    assert_eq!(btf.record_definition(false, "outer").unwrap().as_deref(), Some(outer));
    let wrap = "struct wrap {\n\tint tag;\n\tstruct outer inner;\n};\n";
    assert_eq!(btf.record_definition(false, "wrap").unwrap().as_deref(), Some(wrap));
    assert_eq!(btf.record_definition(true, "outer").unwrap(), None, "a struct is not a union");
    assert_eq!(btf.record_definition(false, "my_fn").unwrap(), None, "a function is not a struct");
}

#[test]
fn decodes_kind_flag_bitfields() {
    let flags = sample().struct_member("outer", "flags").unwrap().unwrap();
    assert_eq!((flags.offset, flags.size), (16, 1));
    assert_eq!((flags.bit_offset, flags.bit_width), (Some(5), Some(3)));
}

#[test]
fn reports_unknown_structs_and_members_as_none() {
    let btf = sample();
    assert_eq!(btf.struct_member("outer", "missing").unwrap(), None);
    assert_eq!(btf.struct_member("nothing", "x").unwrap(), None);
    assert_eq!(btf.struct_member("my_fn", "x").unwrap(), None, "functions are not structs");
}

#[test]
fn lists_function_parameters() {
    let params = sample().function_params("my_fn").unwrap().unwrap();
    let expected = [("skb", "struct outer *"), ("len", "int")];
    assert_eq!(params, expected.map(|(name, ty)| (name.to_string(), ty.to_string())));
    assert_eq!(sample().function_params("absent").unwrap(), None);
}

#[test]
fn lists_raw_tracepoint_arguments_without_the_context() {
    let named = sample().raw_tracepoint_params("my_event").unwrap().unwrap();
    assert_eq!(named, [("buf".to_string(), "struct outer *".to_string())], "named by __bpf_trace_my_event");
    let unnamed = sample().raw_tracepoint_params("other").unwrap().unwrap();
    assert_eq!(unnamed, [("arg0".to_string(), "struct outer *".to_string())]);
    assert_eq!(sample().raw_tracepoint_params("my_fn").unwrap(), None);
}

/// `enum color { RED = 1, BLUE = -1 (signed) }`, an anonymous `enum { BIG = 1 << 40 }` (ENUM64) and an
/// unsigned `enum flag { HIGH = 0xffffffff }`.
fn enum_blob() -> Vec<u8> {
    let mut blob = BlobBuilder::new();
    blob.record("color", KIND_ENUM, 2, true, 4); // 1
    for (name, value) in [("RED", 1u32), ("BLUE", -1i32 as u32)] {
        let name_off = blob.name(name);
        blob.words(&[name_off, value]);
    }
    blob.record("", KIND_ENUM64, 1, false, 8); // 2
    let name_off = blob.name("BIG");
    blob.words(&[name_off, 0, 1 << 8]);
    blob.record("flag", KIND_ENUM, 1, false, 4); // 3
    let name_off = blob.name("HIGH");
    blob.words(&[name_off, u32::MAX]);
    blob.finish()
}

#[test]
fn reads_enums_by_name_and_by_enumerator() {
    let btf = Btf::parse(Path::new("enums"), enum_blob()).unwrap();
    let color = btf.enum_type("color").unwrap().unwrap();
    let expected = [(1, "RED".to_string()), (-1, "BLUE".to_string())];
    assert_eq!((color.name.as_str(), color.size, color.signed), ("color", 4, true));
    assert_eq!(color.enumerators, expected);
    assert_eq!(btf.enum_with("BLUE").unwrap(), Some(color));
    let anonymous = btf.enum_with("BIG").unwrap().unwrap();
    assert_eq!((anonymous.name.as_str(), anonymous.size), ("", 8));
    assert_eq!(anonymous.enumerators, [(1 << 40, "BIG".to_string())]);
    assert_eq!(btf.enum_type("flag").unwrap().unwrap().enumerators, [(i64::from(u32::MAX), "HIGH".to_string())]);
    assert_eq!(btf.enum_type("RED").unwrap(), None, "an enumerator is not an enum");
    assert_eq!(btf.enum_with("color").unwrap(), None, "an enum is not an enumerator");
    assert_eq!(btf.enum_with("GREEN").unwrap(), None);
}

#[test]
fn rejects_malformed_blobs() {
    let path = Path::new("bad");
    assert!(matches!(Btf::parse(path, vec![0; 8]), Err(KernelError::Btf { .. })));
    let mut wrong_magic = sample_blob();
    wrong_magic[0] ^= 0xff;
    assert!(matches!(Btf::parse(path, wrong_magic), Err(KernelError::Btf { .. })));
    let mut truncated = sample_blob();
    truncated.truncate(60);
    assert!(matches!(Btf::parse(path, truncated), Err(KernelError::Btf { .. })));
    let mut unknown_kind = sample_blob();
    unknown_kind[24 + 7] = 30; // kind byte of type 1
    assert!(matches!(Btf::parse(path, unknown_kind), Err(KernelError::Btf { .. })));
}

#[test]
fn reads_the_running_kernel() {
    if !Path::new(VMLINUX_BTF).exists() {
        eprintln!("SKIPPED: {VMLINUX_BTF} is absent (kernel without CONFIG_DEBUG_INFO_BTF)");
        return;
    }
    let started = std::time::Instant::now();
    let btf = Btf::vmlinux().unwrap();
    let parsed = started.elapsed();
    let offset = |s: &str, m: &str| btf.struct_member(s, m).unwrap().map(|member| member.offset);
    let started = std::time::Instant::now();
    // Known-good values for the Linux 6.18 development host, checked with bpftool.
    if btf.struct_member("sk_buff", "len").unwrap().is_some_and(|m| m.offset == 112) {
        assert_eq!(offset("sk_buff", "dev"), Some(16));
        assert_eq!(offset("net_device", "name"), Some(280));
        assert_eq!(offset("task_struct", "pid"), Some(1264));
    } else {
        eprintln!("SKIPPED: offsets of the 6.18 development host (this kernel differs)");
    }
    assert!(offset("sk_buff", "len").is_some());
    let looked_up = started.elapsed();
    let params = btf.function_params("ip_rcv").unwrap().unwrap();
    assert_eq!(params[0], ("skb".to_string(), "struct sk_buff *".to_string()));
    let switch = btf.raw_tracepoint_params("sched_switch").unwrap().unwrap();
    assert!(switch.iter().any(|(name, ty)| name == "next" && ty == "struct task_struct *"), "{switch:?}");
    let started = std::time::Instant::now();
    let reasons = btf.enum_with("SKB_DROP_REASON_NOT_SPECIFIED").unwrap().unwrap();
    let enum_lookup = started.elapsed();
    assert_eq!(reasons.name, "skb_drop_reason");
    assert!(reasons.enumerators.contains(&(2, "SKB_DROP_REASON_NOT_SPECIFIED".to_string())), "{reasons:?}");
    assert_eq!(btf.enum_type("skb_drop_reason").unwrap(), Some(reasons));
    let softirqs = btf.enum_with("NET_RX_SOFTIRQ").unwrap().unwrap();
    assert_eq!((softirqs.name.as_str(), softirqs.enumerators[3].1.as_str()), ("", "NET_RX_SOFTIRQ"));
    eprintln!("enum of an enumerator: {enum_lookup:?}");
    eprintln!("BTF: {} types, read+parse {parsed:?}, four member lookups {looked_up:?}", btf.type_count());
}

/// Split BTF on top of the running kernel's, read in place, as a module's would be: a module struct that
/// embeds `struct timer_list` and names a member with a string only the module has.
#[test]
fn reads_split_btf_on_top_of_the_running_kernel() {
    if !Path::new(VMLINUX_BTF).exists() {
        eprintln!("SKIPPED: {VMLINUX_BTF} is absent (kernel without CONFIG_DEBUG_INFO_BTF)");
        return;
    }
    let base = Btf::vmlinux().unwrap();
    let timer_list = base.find_record("timer_list").unwrap().expect("every kernel has struct timer_list");
    let expires = base.struct_member("timer_list", "expires").unwrap().unwrap();
    let mut header = [0; 24];
    std::io::Read::read_exact(&mut File::open(VMLINUX_BTF).unwrap(), &mut header).unwrap();
    let mut module = BlobBuilder { string_base: base_strings_of(&header), ..BlobBuilder::new() };
    let first = base.type_count() as u32 + 1;
    module.record("jl_mod_timer_holder", KIND_STRUCT, 2, false, 256);
    module.members(&[("jl_mod_flag", timer_list, 0), ("jl_mod_timer", timer_list, 512)]);
    let btf = Btf::parse_split(&base, Path::new("jl_mod"), module.finish()).unwrap();
    assert_eq!(btf.type_count() as u32, first);
    let nested = btf.struct_member("jl_mod_timer_holder", "jl_mod_timer.expires").unwrap().unwrap();
    assert_eq!((nested.offset, nested.type_name), (64 + expires.offset, expires.type_name));
    assert_eq!(btf.struct_member("sk_buff", "len").unwrap(), base.struct_member("sk_buff", "len").unwrap());
    assert_eq!(btf.find_record("jl_mod_timer_holder").unwrap(), Some(first));
}

/// Read in place through a mapping or page by page through `pread` (what kernels before 6.16 allow, and
/// module BTF), the running kernel's BTF gives the same answers.
#[test]
fn the_mapped_and_the_read_kernel_btf_agree() {
    let Ok(file) = File::open(VMLINUX_BTF) else {
        eprintln!("SKIPPED: {VMLINUX_BTF} is absent (kernel without CONFIG_DEBUG_INFO_BTF)");
        return;
    };
    let read = Btf::open(Path::new(VMLINUX_BTF), Source::File(file), None).unwrap();
    let mapped = Btf::vmlinux().unwrap();
    assert_eq!(read.type_count(), mapped.type_count());
    for (struct_name, member) in
        [("sk_buff", "len"), ("timer_list", "function"), ("net", "ns.inum"), ("hrtimer", "is_soft")]
    {
        assert_eq!(
            read.struct_member(struct_name, member).unwrap(),
            mapped.struct_member(struct_name, member).unwrap()
        );
    }
    assert_eq!(read.struct_members("task_struct", "").unwrap(), mapped.struct_members("task_struct", "").unwrap());
    assert_eq!(read.function_params("ip_rcv").unwrap(), mapped.function_params("ip_rcv").unwrap());
    let kfree_skb = read.raw_tracepoint_params("kfree_skb").unwrap();
    assert!(kfree_skb.is_some());
    assert_eq!(kfree_skb, mapped.raw_tracepoint_params("kfree_skb").unwrap());
    let reason = read.enum_with("SKB_DROP_REASON_NO_SOCKET").unwrap();
    assert!(reason.is_some());
    assert_eq!(reason, mapped.enum_with("SKB_DROP_REASON_NO_SOCKET").unwrap());
}
