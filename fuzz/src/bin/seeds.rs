//! Writes the seed corpus: `cargo run --bin seeds -- DIR` creates
//! `DIR/<target>/<name>` for every seed (the committed `fuzz/seeds/`).

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "seeds".to_owned()),
    );
    let seeds = stdws_fuzz::seeds::all();
    for seed in &seeds {
        let target = dir.join(seed.target);
        std::fs::create_dir_all(&target)?;
        std::fs::write(target.join(&seed.name), &seed.bytes)?;
    }
    println!("{} seeds written to {}", seeds.len(), dir.display());
    Ok(())
}
