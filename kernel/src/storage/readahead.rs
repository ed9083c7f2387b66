//! A small read-ahead cache between `embedded-sdmmc` and the SD driver.
//!
//! `embedded-sdmmc` asks for one block at a time and keeps only that block,
//! so a sequential file read alternates between a data block and the FAT
//! block that says where the next cluster is, and reads both again and
//! again. Here a miss reads a run of [`RUN_BLOCKS`] blocks in one
//! multi-block transfer, and the last [`RUNS`] runs stay: the FAT's run and
//! the data's run live side by side.
//!
//! Writes go to the card first (write-through) and then into any cached copy,
//! so the cache never holds data the card lacks, and a reported write is on
//! the card exactly as without it. A failed transfer drops the runs it
//! touched.

use alloc::vec;
use alloc::vec::Vec;
use rpi4::sdhci::{SdError, Sdhci, BLOCK_BYTES};

/// Blocks per run: 16 KiB, one CMD18.
pub const RUN_BLOCKS: u32 = 32;
/// Runs kept, least recently used replaced first.
pub const RUNS: usize = 4;

struct Run {
    start: u32,
    /// Blocks held; 0 = empty.
    len: u32,
    last_used: u64,
    data: Vec<u8>,
}

impl Run {
    fn holds(&self, block: u32) -> bool {
        block >= self.start && block - self.start < self.len
    }

    fn block_mut(&mut self, block: u32) -> &mut [u8] {
        let at = (block - self.start) as usize * BLOCK_BYTES;
        &mut self.data[at..at + BLOCK_BYTES]
    }
}

pub struct ReadAhead {
    runs: Vec<Run>,
    uses: u64,
}

impl ReadAhead {
    pub fn new() -> Self {
        let runs = (0..RUNS)
            .map(|_| Run {
                start: 0,
                len: 0,
                last_used: 0,
                data: vec![0; RUN_BLOCKS as usize * BLOCK_BYTES],
            })
            .collect();
        Self { runs, uses: 0 }
    }

    /// Copies block `block` into `out`, reading a run from the card on a miss.
    pub fn read(
        &mut self,
        sd: &mut Sdhci,
        block: u32,
        out: &mut [u8; BLOCK_BYTES],
    ) -> Result<(), SdError> {
        self.uses += 1;
        let uses = self.uses;
        if let Some(run) = self.runs.iter_mut().find(|r| r.holds(block)) {
            run.last_used = uses;
            out.copy_from_slice(run.block_mut(block));
            return Ok(());
        }
        let card_blocks = sd.card().ok_or(SdError::NoCard)?.blocks;
        let len = RUN_BLOCKS.min(card_blocks.saturating_sub(block)).max(1);
        let run = self
            .runs
            .iter_mut()
            .min_by_key(|r| r.last_used)
            .expect("RUNS > 0");
        run.len = 0;
        sd.read_blocks(block, &mut run.data[..len as usize * BLOCK_BYTES])?;
        run.start = block;
        run.len = len;
        run.last_used = uses;
        out.copy_from_slice(run.block_mut(block));
        Ok(())
    }

    /// Writes block `block` to the card, then into any cached copy.
    pub fn write(
        &mut self,
        sd: &mut Sdhci,
        block: u32,
        data: &[u8; BLOCK_BYTES],
    ) -> Result<(), SdError> {
        let result = sd.write_blocks(block, data);
        for run in self.runs.iter_mut().filter(|r| r.holds(block)) {
            match result {
                Ok(()) => run.block_mut(block).copy_from_slice(data),
                // What the card holds now is unknown.
                Err(_) => run.len = 0,
            }
        }
        result
    }
}
