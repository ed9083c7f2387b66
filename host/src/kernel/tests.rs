//! `elf_to_raw` on small ELF files built here from object's ELF structs.

use object::elf::{
    FileHeader64, Ident, ProgramHeader64, ELFCLASS64, ELFDATA2LSB, ELFMAG, EM_AARCH64, ET_EXEC,
    EV_CURRENT, PT_LOAD, PT_NOTE,
};
use object::endian::{LittleEndian as LE, U16, U32, U64};
use object::pod::bytes_of;

use super::*;

/// One program header to put in a test ELF.
struct Seg<'a> {
    kind: u32,
    paddr: u64,
    data: &'a [u8],
    memsz: u64,
}

fn load(paddr: u64, data: &[u8]) -> Seg<'_> {
    Seg {
        kind: PT_LOAD,
        paddr,
        data,
        memsz: data.len() as u64,
    }
}

/// A minimal little-endian ELF64 executable: header, program headers, then
/// each segment's bytes.
fn build_elf(machine: u16, entry: u64, segs: &[Seg]) -> Vec<u8> {
    let ehsize = size_of::<FileHeader64<LE>>();
    let phsize = size_of::<ProgramHeader64<LE>>();
    let header = FileHeader64::<LE> {
        e_ident: Ident {
            magic: ELFMAG,
            class: ELFCLASS64,
            data: ELFDATA2LSB,
            version: EV_CURRENT,
            os_abi: 0,
            abi_version: 0,
            padding: [0; 7],
        },
        e_type: U16::new(LE, ET_EXEC),
        e_machine: U16::new(LE, machine),
        e_version: U32::new(LE, EV_CURRENT.into()),
        e_entry: U64::new(LE, entry),
        e_phoff: U64::new(LE, ehsize as u64),
        e_shoff: U64::new(LE, 0),
        e_flags: U32::new(LE, 0),
        e_ehsize: U16::new(LE, ehsize as u16),
        e_phentsize: U16::new(LE, phsize as u16),
        e_phnum: U16::new(LE, segs.len() as u16),
        e_shentsize: U16::new(LE, 0),
        e_shnum: U16::new(LE, 0),
        e_shstrndx: U16::new(LE, 0),
    };
    let mut out = bytes_of(&header).to_vec();
    let mut offset = (ehsize + phsize * segs.len()) as u64;
    for seg in segs {
        let ph = ProgramHeader64::<LE> {
            p_type: U32::new(LE, seg.kind),
            p_flags: U32::new(LE, 0),
            p_offset: U64::new(LE, offset),
            p_vaddr: U64::new(LE, seg.paddr),
            p_paddr: U64::new(LE, seg.paddr),
            p_filesz: U64::new(LE, seg.data.len() as u64),
            p_memsz: U64::new(LE, seg.memsz),
            p_align: U64::new(LE, 0x1000),
        };
        out.extend_from_slice(bytes_of(&ph));
        offset += seg.data.len() as u64;
    }
    for seg in segs {
        out.extend_from_slice(seg.data);
    }
    out
}

fn elf_error(result: Result<Vec<u8>>) -> String {
    match result {
        Err(Error::Elf(msg)) => msg,
        other => panic!("expected an ELF error, got {other:?}"),
    }
}

#[test]
fn lays_out_segments_by_address_with_zero_gaps() {
    let text = [1, 2, 3, 4];
    let data = [9, 9];
    let elf = build_elf(
        EM_AARCH64,
        0x80000,
        &[load(0x80010, &data), load(0x80000, &text)],
    );
    let raw = elf_to_raw(&elf).unwrap();
    let mut expected = vec![0u8; 0x12];
    expected[..4].copy_from_slice(&text);
    expected[0x10..].copy_from_slice(&data);
    assert_eq!(raw, expected);
}

#[test]
fn leaves_out_bss_tails_and_non_load_segments() {
    let text = [0xaa; 8];
    let bss_only = Seg {
        kind: PT_LOAD,
        paddr: 0x90000,
        data: &[],
        memsz: 0x1000,
    };
    let note = Seg {
        kind: PT_NOTE,
        paddr: 0x70000,
        data: &[7; 4],
        memsz: 4,
    };
    let with_bss = Seg {
        kind: PT_LOAD,
        paddr: 0x80000,
        data: &text,
        memsz: 0x800,
    };
    let raw = elf_to_raw(&build_elf(EM_AARCH64, 0x80000, &[note, with_bss, bss_only])).unwrap();
    assert_eq!(raw, text);
}

#[test]
fn rejects_wrong_entry_point() {
    let elf = build_elf(EM_AARCH64, 0x80004, &[load(0x80000, &[0; 8])]);
    assert!(elf_error(elf_to_raw(&elf)).contains("entry point is 0x80004"));
}

#[test]
fn rejects_wrong_load_address() {
    let elf = build_elf(
        EM_AARCH64,
        0x80000,
        &[load(0x40000, &[0; 8]), load(0x80000, &[0; 8])],
    );
    assert!(elf_error(elf_to_raw(&elf)).contains("lowest PT_LOAD address is 0x40000"));
}

#[test]
fn rejects_other_machines_and_non_elf() {
    let x86 = build_elf(62, 0x80000, &[load(0x80000, &[0; 8])]);
    assert!(elf_error(elf_to_raw(&x86)).contains("expected AArch64"));
    assert!(elf_error(elf_to_raw(
        b"MZ not an elf at all, just some bytes here...................."
    ))
    .contains("not an ELF64"));
}

#[test]
fn rejects_overlaps_and_absurd_spans() {
    let overlap = build_elf(
        EM_AARCH64,
        0x80000,
        &[load(0x80000, &[1; 16]), load(0x80008, &[2; 16])],
    );
    assert!(elf_error(elf_to_raw(&overlap)).contains("overlaps"));
    let far = build_elf(
        EM_AARCH64,
        0x80000,
        &[load(0x80000, &[1; 4]), load(0xffff_0000_0000, &[2; 4])],
    );
    assert!(elf_error(elf_to_raw(&far)).contains("wrong address"));
}

#[test]
fn rejects_elf_without_loadable_bytes() {
    let elf = build_elf(EM_AARCH64, 0x80000, &[]);
    assert!(elf_error(elf_to_raw(&elf)).contains("no PT_LOAD"));
}
