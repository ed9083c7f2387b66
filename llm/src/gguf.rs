//! GGUF (versions 2 and 3): the header, the metadata key/value pairs, the
//! tensor table and where the tensor data starts.
//!
//! The file is untrusted input. Parsing reads through `Reader`, whose every
//! step is bounds-checked, so a truncated or corrupt file gives an [`Error`]
//! and never a panic; counts read from the file never size an allocation
//! before the bytes they describe have been seen; arrays nest at most
//! [`MAX_DEPTH`] deep; every tensor's data is checked to lie inside the file.
//! Strings and tensor data borrow from the file's bytes.

use alloc::vec::Vec;
use core::fmt;

use crate::types::GgmlType;

/// "GGUF" as it appears at offset 0.
const MAGIC: &[u8; 4] = b"GGUF";
/// ggml's GGML_MAX_DIMS.
pub const MAX_DIMS: usize = 4;
/// Arrays of arrays are legal; this bounds recursion on corrupt input.
pub const MAX_DEPTH: usize = 4;
/// `general.alignment` when the file does not say.
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// Why a file was refused. Offsets are into the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// Needed `want` more bytes at `at`, but the file ends first.
    Truncated {
        at: usize,
        want: u64,
    },
    BadMagic,
    UnsupportedVersion(u32),
    /// A metadata value type id that GGUF does not define.
    BadValueType {
        at: usize,
        id: u32,
    },
    /// A string that is not UTF-8.
    BadUtf8 {
        at: usize,
    },
    /// Arrays nested deeper than [`MAX_DEPTH`].
    TooDeep {
        at: usize,
    },
    /// `general.alignment` is zero, not a power of two, or not an integer.
    BadAlignment,
    /// A tensor with more than [`MAX_DIMS`] dimensions, a zero or overflowing
    /// shape, or a first dimension that is not a whole number of blocks.
    BadShape {
        tensor: usize,
    },
    /// A tensor type this parser does not know.
    UnknownTensorType {
        tensor: usize,
        id: u32,
    },
    /// A tensor's data is misaligned or runs past the end of the file.
    BadTensorData {
        tensor: usize,
    },
    /// Two tensors with the same name.
    DuplicateTensor {
        tensor: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated { at, want } => {
                write!(f, "file ends at {at}, {want} more bytes needed")
            }
            Error::BadMagic => f.write_str("not a GGUF file (bad magic)"),
            Error::UnsupportedVersion(v) => {
                write!(f, "GGUF version {v} is not supported (2 and 3 are)")
            }
            Error::BadValueType { at, id } => write!(f, "unknown metadata value type {id} at {at}"),
            Error::BadUtf8 { at } => write!(f, "string at {at} is not UTF-8"),
            Error::TooDeep { at } => write!(f, "arrays nested too deeply at {at}"),
            Error::BadAlignment => f.write_str("general.alignment is not a power of two"),
            Error::BadShape { tensor } => write!(f, "tensor {tensor} has an invalid shape"),
            Error::UnknownTensorType { tensor, id } => {
                write!(f, "tensor {tensor} has unknown type {id}")
            }
            Error::BadTensorData { tensor } => write!(f, "tensor {tensor}'s data is misplaced"),
            Error::DuplicateTensor { tensor } => {
                write!(f, "tensor {tensor} repeats an earlier name")
            }
        }
    }
}

pub type Result<T> = core::result::Result<T, Error>;

/// One metadata value. Strings borrow from the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(&'a str),
    Array(Vec<Value<'a>>),
}

impl<'a> Value<'a> {
    /// Any integer type that fits in a u64 (GGUF writers disagree on widths).
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// Either float type, narrowed to f32 (what ggml computes in).
    pub fn as_f32(&self) -> Option<f32> {
        match *self {
            Value::F32(v) => Some(v),
            Value::F64(v) => Some(v as f32),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&'a str> {
        match *self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value<'a>]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }
}

/// One entry of the tensor table, checked against the file.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo<'a> {
    pub name: &'a str,
    /// ggml order: `dims[0]` is the row length (contiguous); unused are 1.
    pub dims: [u64; MAX_DIMS],
    pub n_dims: usize,
    pub ty: GgmlType,
    /// From the start of the data section.
    pub offset: u64,
    pub n_bytes: u64,
}

impl TensorInfo<'_> {
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// A parsed GGUF file, borrowing from its bytes.
#[derive(Debug)]
pub struct Gguf<'a> {
    pub version: u32,
    pub metadata: Vec<(&'a str, Value<'a>)>,
    pub tensors: Vec<TensorInfo<'a>>,
    pub alignment: u64,
    /// File offset of the tensor data section.
    pub data_offset: usize,
    bytes: &'a [u8],
}

impl<'a> Gguf<'a> {
    /// Parses and checks the whole file. Nothing is copied.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(4)? != MAGIC {
            return Err(Error::BadMagic);
        }
        let version = r.u32()?;
        if version != 2 && version != 3 {
            return Err(Error::UnsupportedVersion(version));
        }
        let n_tensors = r.u64()?;
        let n_kv = r.u64()?;

        // Each pair or tensor takes at least 8 bytes, so a claimed count is
        // checked by reading, never trusted to size a Vec up front.
        let mut metadata = Vec::new();
        for _ in 0..n_kv {
            let key = r.string()?;
            let ty = r.u32()?;
            let value = r.value(ty, 0)?;
            metadata.push((key, value));
        }

        let mut tensors: Vec<TensorInfo<'a>> = Vec::new();
        for index in 0..n_tensors {
            let tensor = usize::try_from(index).unwrap_or(usize::MAX);
            let info = r.tensor_info(tensor)?;
            if tensors.iter().any(|t| t.name == info.name) {
                return Err(Error::DuplicateTensor { tensor });
            }
            tensors.push(info);
        }

        let alignment = match metadata.iter().find(|(k, _)| *k == "general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some((_, v)) => v.as_u64().ok_or(Error::BadAlignment)?,
        };
        if !alignment.is_power_of_two() {
            return Err(Error::BadAlignment);
        }
        let data_offset = align_up(r.pos as u64, alignment).ok_or(Error::BadAlignment)?;
        let data_len = (bytes.len() as u64).saturating_sub(data_offset);
        for (tensor, info) in tensors.iter().enumerate() {
            let end = info.offset.checked_add(info.n_bytes);
            if info.offset % alignment != 0 || end.is_none_or(|end| end > data_len) {
                return Err(Error::BadTensorData { tensor });
            }
        }
        // data_offset <= bytes.len() when there is any tensor; with none it
        // may point just past the end, which data() clamps.
        let data_offset = usize::try_from(data_offset).map_err(|_| Error::BadAlignment)?;
        Ok(Gguf {
            version,
            metadata,
            tensors,
            alignment,
            data_offset,
            bytes,
        })
    }

    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        self.metadata
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }

    pub fn tensor(&self, name: &str) -> Option<&TensorInfo<'a>> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The bytes of a tensor of this file (checked by [`Gguf::parse`]).
    pub fn tensor_data(&self, info: &TensorInfo<'_>) -> &'a [u8] {
        let start = self.data_offset + info.offset as usize;
        &self.bytes[start..start + info.n_bytes as usize]
    }

    /// The whole file.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

fn align_up(n: u64, alignment: u64) -> Option<u64> {
    n.checked_add(alignment - 1).map(|n| n & !(alignment - 1))
}

/// A cursor whose reads fail at the end of the slice instead of panicking.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: u64) -> Result<&'a [u8]> {
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        let truncated = || Error::Truncated {
            at: self.bytes.len(),
            want: n.saturating_sub(rest.len() as u64),
        };
        let n = usize::try_from(n).map_err(|_| truncated())?;
        let (head, _) = rest.split_at_checked(n).ok_or_else(truncated)?;
        self.pos += n;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N as u64)?);
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32> {
        self.array().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64> {
        self.array().map(u64::from_le_bytes)
    }

    fn string(&mut self) -> Result<&'a str> {
        let len = self.u64()?;
        let at = self.pos;
        core::str::from_utf8(self.take(len)?).map_err(|_| Error::BadUtf8 { at })
    }

    fn value(&mut self, ty: u32, depth: usize) -> Result<Value<'a>> {
        let at = self.pos;
        Ok(match ty {
            0 => Value::U8(u8::from_le_bytes(self.array()?)),
            1 => Value::I8(i8::from_le_bytes(self.array()?)),
            2 => Value::U16(u16::from_le_bytes(self.array()?)),
            3 => Value::I16(i16::from_le_bytes(self.array()?)),
            4 => Value::U32(self.u32()?),
            5 => Value::I32(i32::from_le_bytes(self.array()?)),
            6 => Value::F32(f32::from_le_bytes(self.array()?)),
            7 => Value::Bool(self.array::<1>()?[0] != 0),
            8 => Value::String(self.string()?),
            9 => {
                if depth >= MAX_DEPTH {
                    return Err(Error::TooDeep { at });
                }
                let item_ty = self.u32()?;
                let len = self.u64()?;
                let mut items = Vec::new();
                for _ in 0..len {
                    items.push(self.value(item_ty, depth + 1)?);
                }
                Value::Array(items)
            }
            10 => Value::U64(self.u64()?),
            11 => Value::I64(i64::from_le_bytes(self.array()?)),
            12 => Value::F64(f64::from_le_bytes(self.array()?)),
            id => return Err(Error::BadValueType { at, id }),
        })
    }

    fn tensor_info(&mut self, tensor: usize) -> Result<TensorInfo<'a>> {
        let name = self.string()?;
        let n_dims = self.u32()? as usize;
        if n_dims == 0 || n_dims > MAX_DIMS {
            return Err(Error::BadShape { tensor });
        }
        let mut dims = [1u64; MAX_DIMS];
        for d in dims.iter_mut().take(n_dims) {
            *d = self.u64()?;
        }
        let id = self.u32()?;
        let ty = GgmlType::from_id(id).ok_or(Error::UnknownTensorType { tensor, id })?;
        let offset = self.u64()?;
        let n_bytes = ty.n_bytes(&dims).ok_or(Error::BadShape { tensor })?;
        Ok(TensorInfo {
            name,
            dims,
            n_dims,
            ty,
            offset,
            n_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// A small file written by hand: two metadata pairs, one tensor.
    fn tiny() -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(b"GGUF");
        f.extend_from_slice(&3u32.to_le_bytes());
        f.extend_from_slice(&1u64.to_le_bytes()); // tensors
        f.extend_from_slice(&2u64.to_le_bytes()); // kv pairs
        let s = |f: &mut Vec<u8>, s: &str| {
            f.extend_from_slice(&(s.len() as u64).to_le_bytes());
            f.extend_from_slice(s.as_bytes());
        };
        s(&mut f, "general.name");
        f.extend_from_slice(&8u32.to_le_bytes());
        s(&mut f, "tiny");
        s(&mut f, "list");
        f.extend_from_slice(&9u32.to_le_bytes());
        f.extend_from_slice(&4u32.to_le_bytes()); // of u32
        f.extend_from_slice(&2u64.to_le_bytes());
        f.extend_from_slice(&7u32.to_le_bytes());
        f.extend_from_slice(&9u32.to_le_bytes());
        s(&mut f, "w");
        f.extend_from_slice(&2u32.to_le_bytes());
        f.extend_from_slice(&3u64.to_le_bytes());
        f.extend_from_slice(&2u64.to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes()); // F32
        f.extend_from_slice(&0u64.to_le_bytes());
        while f.len() % 32 != 0 {
            f.push(0);
        }
        for i in 0..6 {
            f.extend_from_slice(&(i as f32).to_le_bytes());
        }
        f
    }

    #[test]
    fn parses_a_hand_written_file() {
        let bytes = tiny();
        let g = Gguf::parse(&bytes).unwrap();
        assert_eq!(g.get("general.name").and_then(Value::as_str), Some("tiny"));
        assert_eq!(
            g.get("list"),
            Some(&Value::Array(vec![Value::U32(7), Value::U32(9)]))
        );
        let w = g.tensor("w").unwrap();
        assert_eq!((w.dims, w.n_dims, w.n_bytes), ([3, 2, 1, 1], 2, 24));
        assert_eq!(g.data_offset % 32, 0);
        assert_eq!(&g.tensor_data(w)[4..8], &1f32.to_le_bytes());
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = tiny();
        for len in 0..bytes.len() {
            assert!(
                Gguf::parse(&bytes[..len]).is_err(),
                "prefix of {len} bytes parsed"
            );
        }
    }

    #[test]
    fn every_single_byte_corruption_is_handled() {
        let bytes = tiny();
        for at in 0..bytes.len() {
            for v in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[at] = v;
                let _ = Gguf::parse(&b); // must return, Ok or Err
            }
        }
    }

    #[test]
    fn deep_arrays_are_refused() {
        let mut f = Vec::new();
        f.extend_from_slice(b"GGUF");
        f.extend_from_slice(&3u32.to_le_bytes());
        f.extend_from_slice(&0u64.to_le_bytes());
        f.extend_from_slice(&1u64.to_le_bytes());
        f.extend_from_slice(&1u64.to_le_bytes());
        f.push(b'k');
        f.extend_from_slice(&9u32.to_le_bytes());
        for _ in 0..100 {
            f.extend_from_slice(&9u32.to_le_bytes());
            f.extend_from_slice(&1u64.to_le_bytes());
        }
        assert!(matches!(Gguf::parse(&f), Err(Error::TooDeep { .. })));
    }

    #[test]
    fn huge_counts_do_not_allocate() {
        let mut f = Vec::new();
        f.extend_from_slice(b"GGUF");
        f.extend_from_slice(&3u32.to_le_bytes());
        f.extend_from_slice(&u64::MAX.to_le_bytes());
        f.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(Gguf::parse(&f), Err(Error::Truncated { .. })));
    }
}
