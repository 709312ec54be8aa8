//! The tokio runtimes the command runs on: `--threads 1` is a current-thread runtime, more is
//! a multi-thread one, and no flag is tokio's default (one worker per CPU).

use std::num::NonZeroUsize;

use tokio::runtime::{Builder, Runtime};

/// A runtime with `threads` workers; `on_thread_start` runs on each thread it starts (the
/// current-thread flavour runs on the caller's thread, which calls nothing).
///
/// ```
/// use std::num::NonZeroUsize;
/// let rt = rmq_cli::runtime::build(NonZeroUsize::new(1), "rmq-doc", || {}).unwrap();
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// ```
pub fn build(
    threads: Option<NonZeroUsize>,
    name: &str,
    on_thread_start: impl Fn() + Send + Sync + 'static,
) -> std::io::Result<Runtime> {
    let mut builder = match threads.map(NonZeroUsize::get) {
        Some(1) => Builder::new_current_thread(),
        Some(n) => {
            let mut builder = Builder::new_multi_thread();
            builder.worker_threads(n);
            builder
        }
        None => Builder::new_multi_thread(),
    };
    builder
        .enable_all()
        .thread_name(name)
        .on_thread_start(on_thread_start)
        .build()
}
