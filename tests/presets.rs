//! Every preset of the chapters built so far runs headless on the CPU and passes its own success check.
#![cfg(not(target_arch = "wasm32"))]

use cvjourney::chapters::{CHAPTERS, presets};
use cvjourney::train::{DirSource, Session};

#[test]
fn every_preset_passes_its_success_check() {
    let source = DirSource(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets"));
    let all = presets();
    assert!(all.len() >= 8);
    for p in all {
        assert!(CHAPTERS.iter().any(|c| c.number == p.chapter), "{}: unknown chapter", p.id);
        let mut s = Session::new(p.config.clone(), &source).unwrap_or_else(|e| panic!("{}: {e}", p.id));
        let last = s.run().unwrap_or_else(|e| panic!("{}: {e}", p.id)).last().cloned().unwrap();
        if let Err(e) = p.check.verify(&last) {
            panic!("{}: {e} (last epoch {last:?})", p.id);
        }
    }
}

#[test]
fn preset_ids_are_unique() {
    let all = presets();
    for p in &all {
        assert_eq!(all.iter().filter(|q| q.id == p.id).count(), 1, "{}", p.id);
    }
}
