//! `cvjourney`: the lab's native command line. It runs the same code as the web page, headless, for
//! benchmarks, reproducible tables and checks. Later chapters add subcommands here.

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use std::process::ExitCode;
    use std::time::Instant;

    use clap::{Parser, Subcommand};
    use cvjourney::probe;

    #[derive(Parser)]
    #[command(name = "cvjourney", version, about = "The Computer Vision Journey lab, on the command line")]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Subcommand)]
    enum Command {
        /// Find the compute backend (Vulkan GPU through wgpu, else the CPU) and check one kernel on it.
        Probe {
            /// How many floats the `add` kernel check adds.
            #[arg(long, default_value_t = 1 << 20)]
            n: usize,
            /// Skip the GPU and check the CPU's SIMD kernel.
            #[arg(long)]
            cpu: bool,
        },
        /// Benchmark the CPU GEMM (fast kernel against the naive loop) and print a table.
        Bench {
            /// Milliseconds to spend measuring each shape's fast kernel.
            #[arg(long, default_value_t = 1500.0)]
            budget_ms: f64,
        },
    }

    pub fn main() -> ExitCode {
        match Cli::parse().command {
            Command::Probe { n, cpu } => run_probe(n, cpu),
            Command::Bench { budget_ms } => {
                let start = Instant::now();
                let now = move || start.elapsed().as_secs_f64() * 1e3;
                let title = format!("CPU GEMM, native {} (single thread)", std::env::consts::ARCH);
                print!(
                    "{}",
                    cvjourney::bench::format_table(&title, &cvjourney::bench::gemm_table(&now, budget_ms))
                );
                println!("\nconv2d forward, 3x3 same, batch 32: im2col + GEMM (used) vs direct loop");
                for r in cvjourney::bench::conv_table(&now) {
                    let (name, a, b, d) = (&r.name, r.im2col_ms, r.direct_ms, r.max_abs_diff);
                    println!("{name:<28} im2col {a:>8.2} ms   direct {b:>8.2} ms   max |diff| {d:.1e}");
                }
                ExitCode::SUCCESS
            }
        }
    }

    fn run_probe(n: usize, force_cpu: bool) -> ExitCode {
        let (choice, gpu) = if force_cpu {
            (None, None)
        } else {
            let (choice, gpu) = pollster::block_on(probe::detect());
            (Some(choice), gpu)
        };
        match &choice {
            Some(c) => {
                println!("backend: {}", c.label);
                if let Some(reason) = &c.fallback_reason {
                    println!("WebGPU/Vulkan unavailable: {reason}");
                }
            }
            None => println!("backend: CPU (asked for with --cpu)"),
        }
        let started = Instant::now();
        match pollster::block_on(probe::kernel_check(gpu.as_ref(), n)) {
            Ok(check) => {
                let verdict = if check.ok { "matches" } else { "DIFFERS FROM" };
                println!(
                    "kernel add on {} floats: {verdict} the scalar reference (max |diff| {:e}) in {:.1} ms",
                    check.n,
                    check.max_abs_diff,
                    started.elapsed().as_secs_f64() * 1e3
                );
                if check.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
            }
            Err(e) => {
                eprintln!("cvjourney: {e}");
                ExitCode::FAILURE
            }
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

// The browser entry point is `web::start` in the library; this binary has nothing to do on wasm32.
#[cfg(target_arch = "wasm32")]
fn main() {}
