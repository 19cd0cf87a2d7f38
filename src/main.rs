//! The `stdws` command: `stdws serve` (an echo, chat and console server)
//! and `stdws connect URL` (an interactive client). See `stdws --help`.

fn main() {
    std::process::exit(stdws::cli::main(std::env::args().skip(1)));
}
