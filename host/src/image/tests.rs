//! Build small images and read them back: raw MBR bytes, then fatfs.

use super::*;

/// A kernel-like file of `len` bytes in `dir`, with varied contents so an
/// offset mistake cannot go unnoticed.
fn fake_kernel(dir: &Path, len: usize) -> (PathBuf, Vec<u8>) {
    let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
    let path = dir.join("kernel8.img");
    std::fs::write(&path, &bytes).unwrap();
    (path, bytes)
}

#[test]
fn image_has_one_bootable_fat32_lba_partition_at_1_mib() {
    let dir = tempfile::tempdir().unwrap();
    let (kernel, _) = fake_kernel(dir.path(), 100_000);
    let out = dir.path().join("sd.img");
    build_image(&out, &ImageSpec::new(&kernel)).unwrap();

    let raw = std::fs::read(&out).unwrap();
    assert_eq!(raw.len() as u64, MIN_IMAGE_BYTES);
    assert_eq!(&raw[510..512], &[0x55, 0xaa], "MBR signature");
    let entry = &raw[446..462];
    assert_eq!(entry[0], 0x80, "bootable flag");
    assert_eq!(entry[4], 0x0c, "FAT32 LBA type");
    assert_eq!(u32::from_le_bytes(entry[8..12].try_into().unwrap()), 2048);
    let sectors = u32::from_le_bytes(entry[12..16].try_into().unwrap());
    assert_eq!(u64::from(sectors), MIN_IMAGE_BYTES / 512 - 2048);
    assert!(
        raw[462..510].iter().all(|&b| b == 0),
        "other partition entries are empty"
    );
    // The FAT32 boot sector of the partition.
    let boot = &raw[1 << 20..(1 << 20) + 512];
    assert_eq!(&boot[82..90], b"FAT32   ");
    assert_eq!(&boot[71..82], b"KINGLY OS  ");
}

#[test]
fn files_read_back_through_fatfs() {
    let dir = tempfile::tempdir().unwrap();
    let (kernel, kernel_bytes) = fake_kernel(dir.path(), 300_001);
    let out = dir.path().join("sd.img");
    let mut spec = ImageSpec::new(&kernel);
    spec.cmdline = "console=uart0 baud=115200 kingly.test=1".into();
    spec.extra_files
        .push(("overlays/note.txt".into(), b"hello".to_vec()));
    build_image(&out, &spec).unwrap();

    let fs = open_partition(&out).unwrap();
    assert_eq!(fs.fat_type(), FatType::Fat32);
    assert!(u64::from(fs.stats().unwrap().total_clusters()) >= FAT32_MIN_CLUSTERS);
    drop(fs);
    assert_eq!(read_file(&out, "kernel8.img").unwrap(), kernel_bytes);
    assert_eq!(
        read_file(&out, "cmdline.txt").unwrap(),
        b"console=uart0 baud=115200 kingly.test=1\n"
    );
    assert_eq!(read_file(&out, "overlays/note.txt").unwrap(), b"hello");
    let config = String::from_utf8(read_file(&out, "config.txt").unwrap()).unwrap();
    for line in ["arm_64bit=1", "kernel=kernel8.img"] {
        assert!(
            config.lines().any(|l| l.trim() == line),
            "config.txt lacks {line}"
        );
    }
}

#[test]
fn summary_lists_the_boot_files() {
    let dir = tempfile::tempdir().unwrap();
    let (kernel, _) = fake_kernel(dir.path(), 4096);
    let out = dir.path().join("sd.img");
    build_image(&out, &ImageSpec::new(&kernel)).unwrap();
    let summary = inspect(&out).unwrap();
    assert_eq!(summary.volume_label, VOLUME_LABEL);
    assert_eq!(summary.fat_type, FatType::Fat32);
    assert!(summary.partition.is_active());
    let names: Vec<&str> = summary.files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["kernel8.img", "config.txt", "cmdline.txt"]);
    assert_eq!(summary.files[0].1, 4096);
    assert_eq!(
        read_file(&out, "cmdline.txt").unwrap(),
        format!("{DEFAULT_CMDLINE}\n").as_bytes()
    );
}

#[test]
fn big_payloads_get_the_next_power_of_two() {
    assert_eq!(image_bytes_for(0), 64 << 20);
    assert_eq!(image_bytes_for(40 << 20), 64 << 20);
    assert_eq!(image_bytes_for(60 << 20), 128 << 20);
    assert_eq!(image_bytes_for(200 << 20), 256 << 20);
    let dir = tempfile::tempdir().unwrap();
    let (kernel, kernel_bytes) = fake_kernel(dir.path(), 60 << 20);
    let out = dir.path().join("sd.img");
    build_image(&out, &ImageSpec::new(&kernel)).unwrap();
    assert_eq!(std::fs::metadata(&out).unwrap().len(), 128 << 20);
    assert_eq!(read_file(&out, "kernel8.img").unwrap(), kernel_bytes);
}

#[test]
fn cluster_size_keeps_fat32_valid() {
    for size in [64u64 << 20, 128 << 20, 1 << 30, 8 << 30] {
        let cluster = bytes_per_cluster_for(size - (1 << 20));
        assert!(
            (size - (1 << 20)) / u64::from(cluster) > FAT32_MIN_CLUSTERS,
            "{size}"
        );
    }
    assert_eq!(bytes_per_cluster_for((64 << 20) - (1 << 20)), 512);
}

#[test]
fn duplicate_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (kernel, _) = fake_kernel(dir.path(), 16);
    let mut spec = ImageSpec::new(&kernel);
    spec.extra_files.push(("CONFIG.TXT".into(), vec![]));
    let err = build_image(&dir.path().join("sd.img"), &spec).unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
}

#[test]
fn host_files_and_models_are_streamed_onto_the_card() {
    let dir = tempfile::tempdir().unwrap();
    let (kernel, _) = fake_kernel(dir.path(), 4096);
    let note = dir.path().join("note.txt");
    std::fs::write(&note, b"a note").unwrap();
    let model = dir.path().join("SmolLM2-135M-Instruct-Q4_1.gguf");
    let model_bytes: Vec<u8> = (0..70u32 << 20).map(|i| (i % 251) as u8).collect();
    std::fs::write(&model, &model_bytes).unwrap();

    let mut spec = ImageSpec::new(&kernel);
    spec.host_files
        .push(parse_add(&format!("{}:/notes/deep/hello.txt", note.display())).unwrap());
    spec.host_files.push(model_entry(&model).unwrap());
    let out = dir.path().join("sd.img");
    build_image(&out, &spec).unwrap();

    // 70 MiB of model needs the next power of two up.
    assert_eq!(std::fs::metadata(&out).unwrap().len(), 128 << 20);
    assert_eq!(read_file(&out, "notes/deep/hello.txt").unwrap(), b"a note");
    assert!(read_file(&out, "models/SmolLM2-135M-Instruct-Q4_1.gguf").unwrap() == model_bytes);
    let shorts = short_paths(
        &out,
        &[
            "notes/deep/hello.txt".into(),
            "models/SmolLM2-135M-Instruct-Q4_1.gguf".into(),
        ],
    )
    .unwrap();
    assert_eq!(shorts[0].1, "/NOTES/DEEP/HELLO.TXT");
    assert_eq!(shorts[1].1, "/MODELS/SMOLLM~1.GGU");
}

#[test]
fn add_arguments() {
    assert_eq!(
        parse_add("/a/b.txt:x/y.txt").unwrap(),
        ("x/y.txt".to_string(), PathBuf::from("/a/b.txt"))
    );
    assert_eq!(parse_add("c:/d").unwrap().0, "d");
    for bad in ["nocolon", ":dest", "src:", "src:/", "src:dir/"] {
        assert!(parse_add(bad).is_err(), "{bad}");
    }
    assert_eq!(
        model_entry(Path::new("/m/x.gguf")).unwrap().0,
        "models/x.gguf"
    );
    let dir = tempfile::tempdir().unwrap();
    let (kernel, _) = fake_kernel(dir.path(), 16);
    let mut spec = ImageSpec::new(&kernel);
    spec.host_files.push(("Kernel8.img".into(), kernel.clone()));
    assert!(build_image(&dir.path().join("sd.img"), &spec)
        .unwrap_err()
        .to_string()
        .contains("twice"));
}
