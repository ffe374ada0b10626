fn main() {
    println!("nasstrap {}", env!("CARGO_PKG_VERSION"));
}
