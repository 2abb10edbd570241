// A block device's number as the kernel writes it ("259:1", as in mountinfo and lsblk), from a stat's st_rdev.

/** glibc's major()/minor() of a dev_t (the numbers devices get fit in 32 bits; past that JS's bitwise ops would cut). */
export function majorMinor(rdev: number): string {
  return `${((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff)}:${(rdev & 0xff) | ((rdev >>> 12) & ~0xff)}`;
}
