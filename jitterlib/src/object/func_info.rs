//! The BTF a program with callbacks needs: the verifier accepts a `BPF_PSEUDO_FUNC` reference (a callback given
//! to `bpf_for_each_map_elem`) only in a program with BTF function info, one `FUNC` per function, and a callback
//! must be `static`. This writes the smallest such `.BTF` (a `long`, a `void *`, two prototypes and one `FUNC`
//! per function) and the `.BTF.ext` function info that places each `FUNC` at its function's start; aya loads the
//! BTF and hands each program its function info. There is no line info and no CO-RE relocation.

use std::collections::HashMap;

/// `BTF_MAGIC`, shared by `.BTF` and `.BTF.ext`.
const MAGIC: u16 = 0xeb9f;
/// Size of the `.BTF` and `.BTF.ext` headers written here.
const HEADER_LEN: u32 = 24;
/// `BTF_KIND_INT`, `BTF_KIND_PTR`, `BTF_KIND_FUNC`, `BTF_KIND_FUNC_PROTO`.
const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
/// `BTF_INT_SIGNED`, in the encoding bits of an `INT`.
const INT_SIGNED: u32 = 1 << 24;
/// Type ids of the fixed types, in the order [`encode`] writes them.
const LONG: u32 = 1;
const VOID_POINTER: u32 = 2;
const PROGRAM_PROTO: u32 = 3;
const CALLBACK_PROTO: u32 = 4;
/// Bytes of one `struct bpf_func_info` record.
const FUNC_INFO_RECORD: u32 = 8;

/// One function of the object: a program (`long f(void *ctx)`, global) or a callback (`long f(void *map,
/// void *key, void *value, void *ctx)`, static).
pub(super) struct Function<'a> {
    /// Its symbol name.
    pub name: &'a str,
    /// The ELF section it sits in.
    pub section: &'a str,
    /// Its byte offset in that section.
    pub offset: u64,
    /// Whether it is a callback rather than a program.
    pub callback: bool,
}

/// The `.BTF` and `.BTF.ext` sections describing `functions`.
pub(super) fn encode(functions: &[Function]) -> (Vec<u8>, Vec<u8>) {
    let mut strings = Strings::default();
    let mut types = Vec::new();
    let mut put = |words: &[u32]| words.iter().for_each(|word| types.extend_from_slice(&word.to_le_bytes()));
    put(&[strings.add("long"), KIND_INT << 24, 8, INT_SIGNED | 64]);
    put(&[0, KIND_PTR << 24, 0]);
    put(&[0, KIND_FUNC_PROTO << 24 | 1, LONG, strings.add("ctx"), VOID_POINTER]);
    put(&[0, KIND_FUNC_PROTO << 24 | 4, LONG]);
    for param in ["map", "key", "value", "ctx"] {
        put(&[strings.add(param), VOID_POINTER]);
    }
    // The function info of each section, in order of first appearance.
    let mut sections: Vec<(u32, Vec<[u32; 2]>)> = Vec::new();
    for (index, function) in functions.iter().enumerate() {
        let (linkage, proto) = if function.callback { (0, CALLBACK_PROTO) } else { (1, PROGRAM_PROTO) };
        put(&[strings.add(function.name), KIND_FUNC << 24 | linkage, proto]);
        let type_id = CALLBACK_PROTO + 1 + index as u32;
        let section = strings.add(function.section);
        let record = [function.offset as u32, type_id];
        match sections.iter_mut().find(|(name, _)| *name == section) {
            Some((_, records)) => records.push(record),
            None => sections.push((section, vec![record])),
        }
    }
    let mut btf = header();
    let [type_len, str_len] = [types.len() as u32, strings.bytes.len() as u32];
    for word in [0, type_len, type_len, str_len] {
        btf.extend_from_slice(&word.to_le_bytes());
    }
    btf.extend_from_slice(&types);
    btf.extend_from_slice(&strings.bytes);

    let mut info = FUNC_INFO_RECORD.to_le_bytes().to_vec();
    for (section, records) in &sections {
        for word in [*section, records.len() as u32].iter().chain(records.iter().flatten()) {
            info.extend_from_slice(&word.to_le_bytes());
        }
    }
    let mut ext = header();
    for word in [0, info.len() as u32, info.len() as u32, 0] {
        ext.extend_from_slice(&word.to_le_bytes());
    }
    ext.extend_from_slice(&info);
    (btf, ext)
}

/// The first 8 bytes of a `.BTF` or `.BTF.ext` header: magic, version 1, no flags, the header's length.
fn header() -> Vec<u8> {
    let mut bytes = MAGIC.to_le_bytes().to_vec();
    bytes.extend_from_slice(&[1, 0]);
    bytes.extend_from_slice(&HEADER_LEN.to_le_bytes());
    bytes
}

/// A BTF string table: NUL-terminated names, the empty name at offset 0.
struct Strings {
    bytes: Vec<u8>,
    offsets: HashMap<String, u32>,
}

impl Default for Strings {
    fn default() -> Strings {
        Strings { bytes: vec![0], offsets: HashMap::new() }
    }
}

impl Strings {
    /// The offset of `name`, added if new.
    fn add(&mut self, name: &str) -> u32 {
        if let Some(offset) = self.offsets.get(name) {
            return *offset;
        }
        let offset = self.bytes.len() as u32;
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.offsets.insert(name.to_string(), offset);
        offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aya_reads_the_function_info_back() {
        let functions = [
            Function { name: "prog", section: "raw_tracepoint/jl_manual", offset: 0, callback: false },
            Function { name: "prog_cb0", section: ".text", offset: 16, callback: true },
        ];
        let (btf, ext) = encode(&functions);
        let parsed = aya_obj::btf::Btf::parse(&btf, object::Endianness::Little).expect("BTF parses");
        assert_eq!(parsed.id_by_type_name_kind("prog_cb0", aya_obj::btf::BtfKind::Func).expect("callback FUNC"), 6);
        assert!(ext.len() > 24, "function info follows the header");
    }
}
