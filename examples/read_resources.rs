//! Read a resource-sample file and print how many samples it holds and how long
//! the read took (used by benches/resources_day.sh).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: read_resources FILE")?;
    let start = std::time::Instant::now();
    let s = perfreport::input::resources::read(std::path::Path::new(&path))?;
    println!(
        "{} samples read in {:.3} s",
        s.samples.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
