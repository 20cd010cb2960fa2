//! What the Linux loader will do with an ELF file, read the way the loader
//! reads it: from the program headers (PT_INTERP, PT_DYNAMIC) and the dynamic
//! table, never from section headers, which a file can omit or fake.

use object::elf::{self, FileHeader32, FileHeader64};
use object::read::elf::{Dyn, FileHeader, ProgramHeader};
use object::read::{Bytes, StringTable};
use object::{Endianness, FileKind};

/// Caps on what a hostile file can make us walk.
const MAX_VERSION_ENTRIES: usize = 4096;

/// The facts about one ELF file that decide whether it runs on a stock system.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Facts {
    pub is_64: bool,
    pub little_endian: bool,
    pub machine: u16,
    /// ET_EXEC, ET_DYN, ...
    pub file_type: u16,
    /// PT_INTERP, without its NUL.
    pub interpreter: Option<Vec<u8>>,
    pub needed: Vec<Vec<u8>>,
    pub rpath: Vec<Vec<u8>>,
    pub runpath: Vec<Vec<u8>>,
    /// From DT_VERNEED, e.g. GLIBC_2.34 of libc.so.6.
    pub version_needs: Vec<VersionNeed>,
}

/// One symbol version a file needs from a library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionNeed {
    pub file: Vec<u8>,
    pub version: Vec<u8>,
}

/// The dynamic string table, with errors that say which entry pointed outside it.
struct Strings<'d>(StringTable<'d, &'d [u8]>);

impl Strings<'_> {
    fn get(&self, offset: u32, what: &str) -> Result<Vec<u8>, String> {
        self.0
            .get(offset)
            .map(<[u8]>::to_vec)
            .map_err(|()| format!("{what}: string at {offset:#x} is outside DT_STRTAB"))
    }
}

/// `Ok(None)` when the bytes are not an ELF file at all; `Err` with the reason
/// when they claim to be one but cannot be read as one.
pub fn inspect(data: &[u8]) -> Result<Option<Facts>, String> {
    match FileKind::parse(data) {
        Ok(FileKind::Elf64) => inspect_as::<FileHeader64<Endianness>>(data).map(Some),
        Ok(FileKind::Elf32) => inspect_as::<FileHeader32<Endianness>>(data).map(Some),
        _ if data.starts_with(&elf::ELFMAG) => Err("malformed ELF header".into()),
        _ => Ok(None),
    }
}

fn inspect_as<H: FileHeader<Endian = Endianness>>(data: &[u8]) -> Result<Facts, String> {
    let header = H::parse(data).map_err(|e| format!("malformed ELF header: {e}"))?;
    let endian = header
        .endian()
        .map_err(|e| format!("malformed ELF header: {e}"))?;
    let phdrs = header
        .program_headers(endian, data)
        .map_err(|e| format!("malformed program headers: {e}"))?;
    let mut facts = Facts {
        is_64: header.is_type_64(),
        little_endian: header.is_little_endian(),
        machine: header.e_machine(endian),
        file_type: header.e_type(endian),
        ..Facts::default()
    };
    let mut dynamic = None;
    for ph in phdrs {
        if let Some(interp) = ph
            .interpreter(endian, data)
            .map_err(|e| format!("malformed PT_INTERP: {e}"))?
        {
            if facts.interpreter.is_some() {
                return Err("more than one PT_INTERP".into());
            }
            facts.interpreter = Some(interp.to_vec());
        }
        if let Some(entries) = ph
            .dynamic(endian, data)
            .map_err(|e| format!("malformed PT_DYNAMIC: {e}"))?
        {
            if dynamic.is_some() {
                return Err("more than one PT_DYNAMIC".into());
            }
            dynamic = Some(entries);
        }
    }
    if let Some(entries) = dynamic {
        read_dynamic::<H>(endian, data, phdrs, entries, &mut facts)?;
    }
    Ok(facts)
}

/// The file bytes from virtual address `addr` to the end of the PT_LOAD
/// segment that maps it: where the loader finds DT_STRTAB and DT_VERNEED.
fn at_address<'d, P: ProgramHeader<Endian = Endianness>>(
    endian: Endianness,
    data: &'d [u8],
    phdrs: &[P],
    addr: u64,
    what: &str,
) -> Result<&'d [u8], String> {
    for ph in phdrs.iter().filter(|ph| ph.p_type(endian) == elf::PT_LOAD) {
        let start: u64 = ph.p_vaddr(endian).into();
        let size: u64 = ph.p_filesz(endian).into();
        if addr >= start && addr - start < size {
            let bytes = ph
                .data(endian, data)
                .map_err(|()| format!("{what}: its PT_LOAD segment lies outside the file"))?;
            return usize::try_from(addr - start)
                .ok()
                .and_then(|offset| bytes.get(offset..))
                .ok_or_else(|| format!("{what}: address {addr:#x} lies outside the file"));
        }
    }
    Err(format!("{what}: address {addr:#x} is in no loaded segment"))
}

fn read_dynamic<H: FileHeader<Endian = Endianness>>(
    endian: Endianness,
    data: &[u8],
    phdrs: &[H::ProgramHeader],
    entries: &[H::Dyn],
    facts: &mut Facts,
) -> Result<(), String> {
    let mut strtab = None;
    let mut strsz = None;
    let mut verneed = None;
    let mut verneednum = None;
    let mut strings: Vec<(u32, u32)> = Vec::new();
    for entry in entries {
        let tag = entry.d_tag(endian).into();
        let value: u64 = entry.d_val(endian).into();
        match u32::try_from(tag).unwrap_or(u32::MAX) {
            elf::DT_NULL => break,
            elf::DT_STRTAB => strtab = Some(value),
            elf::DT_STRSZ => strsz = Some(value),
            elf::DT_VERNEED => verneed = Some(value),
            elf::DT_VERNEEDNUM => verneednum = Some(value),
            t @ (elf::DT_NEEDED | elf::DT_RPATH | elf::DT_RUNPATH) => {
                let offset = u32::try_from(value)
                    .map_err(|_| format!("dynamic entry {t} points past any string table"))?;
                strings.push((t, offset));
            }
            _ => {}
        }
    }
    if strings.is_empty() && verneed.is_none() {
        return Ok(());
    }
    let (Some(strtab), Some(strsz)) = (strtab, strsz) else {
        return Err("dynamic table names strings but has no DT_STRTAB/DT_STRSZ".into());
    };
    let table_bytes = at_address(endian, data, phdrs, strtab, "DT_STRTAB")?;
    let table = Strings(StringTable::new(
        table_bytes,
        0,
        strsz.min(table_bytes.len() as u64),
    ));
    for (tag, offset) in strings {
        match tag {
            elf::DT_NEEDED => facts.needed.push(table.get(offset, "DT_NEEDED")?),
            elf::DT_RPATH => facts.rpath.push(table.get(offset, "DT_RPATH")?),
            _ => facts.runpath.push(table.get(offset, "DT_RUNPATH")?),
        }
    }
    if let Some(addr) = verneed {
        let bytes = at_address(endian, data, phdrs, addr, "DT_VERNEED")?;
        facts.version_needs = version_needs(endian, bytes, verneednum, &table)?;
    }
    Ok(())
}

/// Walks the Verneed chain (each with its Vernaux chain) as glibc's loader
/// does: `vn_next`/`vna_next` offsets, bounded so a cycle cannot hang us.
fn version_needs(
    endian: Endianness,
    bytes: &[u8],
    count: Option<u64>,
    strings: &Strings,
) -> Result<Vec<VersionNeed>, String> {
    let malformed = |what: &str| format!("malformed DT_VERNEED: {what}");
    let mut needs = Vec::new();
    let mut offset = 0usize;
    let mut walked = 0usize;
    for index in 0.. {
        if count.is_some_and(|n| index >= n) {
            break;
        }
        let need: &elf::Verneed<Endianness> = Bytes(bytes)
            .read_at(offset)
            .map_err(|()| malformed("entry outside the file"))?;
        let file = strings.get(need.vn_file.get(endian), "DT_VERNEED file")?;
        let mut aux_offset = offset
            .checked_add(need.vn_aux.get(endian) as usize)
            .ok_or_else(|| malformed("offset overflow"))?;
        for _ in 0..need.vn_cnt.get(endian) {
            walked += 1;
            if walked > MAX_VERSION_ENTRIES {
                return Err(malformed("too many entries"));
            }
            let aux: &elf::Vernaux<Endianness> = Bytes(bytes)
                .read_at(aux_offset)
                .map_err(|()| malformed("version outside the file"))?;
            needs.push(VersionNeed {
                file: file.clone(),
                version: strings.get(aux.vna_name.get(endian), "DT_VERNEED version")?,
            });
            let next = aux.vna_next.get(endian) as usize;
            if next == 0 {
                break;
            }
            aux_offset = aux_offset
                .checked_add(next)
                .ok_or_else(|| malformed("offset overflow"))?;
        }
        let next = need.vn_next.get(endian) as usize;
        walked += 1;
        if next == 0 || walked > MAX_VERSION_ENTRIES {
            break;
        }
        offset = offset
            .checked_add(next)
            .ok_or_else(|| malformed("offset overflow"))?;
    }
    Ok(needs)
}

/// A name for an ELF machine number, for messages.
pub fn machine_name(machine: u16) -> String {
    match machine {
        elf::EM_X86_64 => "x86_64".into(),
        elf::EM_AARCH64 => "aarch64".into(),
        elf::EM_386 => "i386".into(),
        elf::EM_ARM => "arm".into(),
        elf::EM_RISCV => "riscv".into(),
        elf::EM_PPC64 => "ppc64".into(),
        elf::EM_S390 => "s390".into(),
        other => format!("machine {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_elf_and_truncated_elf_are_told_apart() {
        assert_eq!(inspect(b"#!/bin/sh\necho hi\n"), Ok(None));
        assert_eq!(inspect(b""), Ok(None));
        let err = inspect(b"\x7fELF\x02\x01\x01").unwrap_err();
        assert!(err.contains("malformed ELF header"), "{err}");
    }

    #[test]
    fn this_test_binary_is_read_like_the_loader_reads_it() {
        let data = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let facts = inspect(&data).unwrap().expect("an ELF file");
        assert!(facts.is_64 && facts.little_endian);
        let arch = std::env::consts::ARCH;
        assert_eq!(machine_name(facts.machine), arch);
    }
}
