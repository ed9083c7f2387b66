//! ggml's tensor types as stored in GGUF: ids, block sizes, byte sizes.
//! Pure data, so the parser checks tensor sizes without calling into C
//! (the FFI tests check the table against ggml's own).

/// The tensor types this engine reads. Ids are ggml's `enum ggml_type`
/// (b2757); a file with any other type is refused when parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q2K,
    Q3K,
    Q4K,
    Q5K,
    Q6K,
}

impl GgmlType {
    /// (type, ggml id, elements per block, bytes per block)
    const TABLE: [(GgmlType, u32, u64, u64); 12] = [
        (GgmlType::F32, 0, 1, 4),
        (GgmlType::F16, 1, 1, 2),
        (GgmlType::Q4_0, 2, 32, 18),
        (GgmlType::Q4_1, 3, 32, 20),
        (GgmlType::Q5_0, 6, 32, 22),
        (GgmlType::Q5_1, 7, 32, 24),
        (GgmlType::Q8_0, 8, 32, 34),
        (GgmlType::Q2K, 10, 256, 84),
        (GgmlType::Q3K, 11, 256, 110),
        (GgmlType::Q4K, 12, 256, 144),
        (GgmlType::Q5K, 13, 256, 176),
        (GgmlType::Q6K, 14, 256, 210),
    ];

    pub const ALL: [GgmlType; 12] = {
        let mut all = [GgmlType::F32; 12];
        let mut i = 0;
        while i < 12 {
            all[i] = Self::TABLE[i].0;
            i += 1;
        }
        all
    };

    fn row(self) -> (GgmlType, u32, u64, u64) {
        // The table lists every variant, in order.
        Self::TABLE[self as usize]
    }

    pub fn from_id(id: u32) -> Option<Self> {
        Self::TABLE.iter().find(|row| row.1 == id).map(|row| row.0)
    }

    pub fn id(self) -> u32 {
        self.row().1
    }

    pub fn block_len(self) -> u64 {
        self.row().2
    }

    pub fn block_bytes(self) -> u64 {
        self.row().3
    }

    /// Bytes of a contiguous tensor of this shape, or None when the first
    /// dimension is not a whole number of blocks, a dimension is zero or the
    /// size overflows.
    pub fn n_bytes(self, dims: &[u64]) -> Option<u64> {
        let (&row_len, rest) = dims.split_first()?;
        if row_len == 0 || row_len % self.block_len() != 0 || rest.contains(&0) {
            return None;
        }
        let row_bytes = (row_len / self.block_len()).checked_mul(self.block_bytes())?;
        rest.iter()
            .try_fold(row_bytes, |acc, &d| acc.checked_mul(d))
    }

    pub fn name(self) -> &'static str {
        match self {
            GgmlType::F32 => "F32",
            GgmlType::F16 => "F16",
            GgmlType::Q4_0 => "Q4_0",
            GgmlType::Q4_1 => "Q4_1",
            GgmlType::Q5_0 => "Q5_0",
            GgmlType::Q5_1 => "Q5_1",
            GgmlType::Q8_0 => "Q8_0",
            GgmlType::Q2K => "Q2_K",
            GgmlType::Q3K => "Q3_K",
            GgmlType::Q4K => "Q4_K",
            GgmlType::Q5K => "Q5_K",
            GgmlType::Q6K => "Q6_K",
        }
    }
}
