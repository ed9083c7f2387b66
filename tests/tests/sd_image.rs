//! The default SD image holds what was built.

use kingly::image::{self, CONFIG_TXT, DEFAULT_CMDLINE};
use kingly_tests::artifacts;

#[test]
fn default_image_holds_the_built_kernel8() {
    let (kernel8, sd) = artifacts();
    let built = std::fs::read(kernel8).unwrap();
    assert_eq!(
        image::read_file(sd, "kernel8.img").unwrap(),
        built,
        "kernel8.img on the card differs from the built one"
    );
    assert_eq!(
        image::read_file(sd, "config.txt").unwrap(),
        CONFIG_TXT.as_bytes()
    );
    assert_eq!(
        image::read_file(sd, "cmdline.txt").unwrap(),
        format!("{DEFAULT_CMDLINE}\n").as_bytes()
    );
    let summary = image::inspect(sd).unwrap();
    assert!(
        summary.size.is_power_of_two(),
        "QEMU needs a power-of-two SD size, got {}",
        summary.size
    );
    assert_eq!(summary.partition.sys, image::FAT32_LBA);
    assert_eq!(summary.partition.starting_lba, image::PARTITION_START_LBA);
    assert!(summary.partition.is_active());
    assert_eq!(summary.fat_type, image::FatType::Fat32);
}
