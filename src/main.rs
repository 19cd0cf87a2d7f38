//! The `stdws` command.

fn main() {
    eprintln!("usage: stdws serve | connect URL");
    std::process::exit(2);
}
