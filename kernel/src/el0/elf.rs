//! Reading a program's ELF file: the `object` crate parses the headers;
//! this module checks that what they describe fits the ABI (`abi`) before
//! anything is mapped. Every refusal says what is wrong.

use super::abi::{IMAGE_END, IMAGE_START};
use crate::mmu::UserAccess;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use object::elf::{
    FileHeader64, EM_AARCH64, ET_EXEC, PF_R, PF_W, PF_X, PT_DYNAMIC, PT_INTERP, PT_LOAD, PT_TLS,
};
use object::read::elf::{FileHeader, ProgramHeader};
use object::Endianness;

/// One PT_LOAD segment: `data` is copied to `address`, the rest of
/// `mem_size` is zero (.bss).
#[derive(Debug)]
pub struct Segment<'a> {
    pub address: u64,
    pub data: &'a [u8],
    pub mem_size: u64,
    pub access: UserAccess,
}

#[derive(Debug)]
pub struct Program<'a> {
    pub entry: u64,
    pub segments: Vec<Segment<'a>>,
}

/// Parses and checks `file`: a little-endian AArch64 ELF64 executable
/// (static, position-dependent), whose PT_LOAD segments lie inside the file
/// and inside the user window's image area, none both writable and
/// executable, with the entry point in an executable segment.
pub fn parse(file: &[u8]) -> Result<Program<'_>, String> {
    let header =
        FileHeader64::<Endianness>::parse(file).map_err(|e| format!("not an ELF64 file ({e})"))?;
    let endian = header.endian().map_err(|e| format!("{e}"))?;
    if endian != Endianness::Little {
        return Err("big-endian ELF: programs are little-endian AArch64".into());
    }
    let machine = header.e_machine(endian);
    if machine != EM_AARCH64 {
        return Err(format!(
            "machine is {machine}, expected AArch64 ({EM_AARCH64})"
        ));
    }
    if header.e_type(endian) != ET_EXEC {
        return Err(
            "not a static executable (ET_EXEC): link it at the user window with apps/user.ld"
                .into(),
        );
    }
    let mut segments = Vec::new();
    let headers = header
        .program_headers(endian, file)
        .map_err(|e| format!("program headers: {e}"))?;
    for ph in headers {
        match ph.p_type(endian) {
            PT_LOAD => {}
            PT_INTERP | PT_DYNAMIC => {
                return Err("dynamically linked: programs must be static".into())
            }
            PT_TLS => return Err("thread-local storage is not supported".into()),
            _ => continue,
        }
        let address = ph.p_vaddr(endian);
        let mem_size = ph.p_memsz(endian);
        let flags = ph.p_flags(endian);
        let data = ph
            .data(endian, file)
            .map_err(|_| format!("the segment at {address:#x} lies outside the file"))?;
        if mem_size == 0 {
            continue;
        }
        if (data.len() as u64) > mem_size {
            return Err(format!(
                "the segment at {address:#x} has more file bytes than memory"
            ));
        }
        let end = address
            .checked_add(mem_size)
            .ok_or_else(|| format!("the segment at {address:#x} wraps around"))?;
        if address < IMAGE_START || end > IMAGE_END {
            return Err(format!(
                "the segment {address:#x}..{end:#x} is outside the program area {IMAGE_START:#x}..{IMAGE_END:#x}"
            ));
        }
        let access = match (flags & PF_R != 0, flags & PF_W != 0, flags & PF_X != 0) {
            (_, true, true) => {
                return Err(format!(
                    "the segment at {address:#x} is both writable and executable (W^X)"
                ))
            }
            (_, false, true) => UserAccess::ReadExecute,
            (_, true, false) => UserAccess::ReadWrite,
            (true, false, false) => UserAccess::Read,
            (false, false, false) => UserAccess::None,
        };
        segments.push(Segment {
            address,
            data,
            mem_size,
            access,
        });
    }
    if segments.is_empty() {
        return Err("no loadable segment".into());
    }
    let entry = header.e_entry(endian);
    let entry_is_code = segments.iter().any(|s| {
        s.access == UserAccess::ReadExecute && (s.address..s.address + s.mem_size).contains(&entry)
    });
    if !entry_is_code {
        return Err(format!(
            "the entry point {entry:#x} is not in an executable segment"
        ));
    }
    Ok(Program { entry, segments })
}
