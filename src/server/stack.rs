//! A quiet client's thread gives back the stack pages it no longer uses.
//!
//! An idle client's thread waits in a read about 8 KiB down its stack, but
//! its handshake (TLS, the hook, the 101) and its messages (a handler's
//! work) went deeper, and every page they touched stays resident for as
//! long as the thread lives: a third page of 4 KiB per idle client, and
//! more after a deep handler. When the idle alarm goes off
//! ([`super::idle`]), the thread tells the kernel it no longer needs the
//! pages below the frame it is in (`madvise(MADV_DONTNEED)`): they are
//! dropped, and come back zeroed, at the cost of a page fault, should the
//! thread go that deep again. Once per quiet spell, never per message.

use std::marker::PhantomData;

/// Stacks smaller than this are left alone: the window released lies half
/// the stack's size below the thread's first frame, and must stay far from
/// the guard page and from whatever the system keeps at the stack's top.
const MIN_STACK: usize = 64 << 10;

/// Bytes left alone below the releasing frame: far more than its own
/// locals, the `madvise` call and x86-64's 128-byte red zone use.
const MARGIN: usize = 1 << 10;

/// Where a client thread's stack is. Neither `Send` nor `Sync`: only the
/// thread it describes may release its pages.
#[derive(Debug, Clone, Copy)]
pub(super) struct Stack {
    /// An address in the thread's first frame: the stack is below it.
    top: usize,
    /// The size the thread was spawned with.
    size: usize,
    this_thread_only: PhantomData<*const ()>,
}

impl Stack {
    /// The stack of the calling thread, spawned with `size` bytes; called
    /// first thing in the thread.
    #[inline(always)]
    pub(super) fn of_this_thread(size: usize) -> Stack {
        let marker = 0u8;
        let top = std::hint::black_box(std::ptr::addr_of!(marker)) as usize;
        Stack {
            top,
            size,
            this_thread_only: PhantomData,
        }
    }

    /// Drops the pages below the caller's frame: everything down there is
    /// the dead frames of calls that have returned.
    #[inline(never)]
    pub(super) fn release_unused(&self) {
        #[cfg(target_os = "linux")]
        {
            let Some(page) = page_size() else {
                return;
            };
            let marker = 0u8;
            let here = std::hint::black_box(std::ptr::addr_of!(marker)) as usize;
            if self.size < MIN_STACK || here > self.top {
                return;
            }
            // Margin below this frame: its own locals, the call into libc
            // and the red zone are all within it.
            let end = here.saturating_sub(MARGIN) & !(page - 1);
            let start = (self.top.saturating_sub(self.size / 2) + page - 1) & !(page - 1);
            if end <= start {
                return;
            }
            // SAFETY: [start, end) is page-aligned (so the kernel does not
            // round `end` up into a live page) and lies inside this thread's
            // own stack mapping: `end` is at least `MARGIN` below the current
            // frame, `start` half the spawned size below the thread's first
            // frame, and the mapping extends at least the spawned size below
            // its top (glibc keeps its thread block above the first frame;
            // `MIN_STACK` keeps the window far from the guard page). Memory
            // below the current frame holds no live value: safe Rust cannot
            // point into the frames of calls that returned, and signal
            // handlers only run once this call is back. The pages are private
            // and anonymous: MADV_DONTNEED makes them read as zero if touched
            // again, which is what an untouched stack page reads as.
            #[allow(unsafe_code)]
            let _ = unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED)
            };
        }
    }
}

/// The system's page size.
#[cfg(target_os = "linux")]
fn page_size() -> Option<usize> {
    static PAGE: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf reads a constant of the system, no memory of ours.
        #[allow(unsafe_code)]
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(size).ok().filter(|s| s.is_power_of_two())
    })
}
