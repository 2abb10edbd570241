// Where programs are looked up: a fixed list, never inherited (its own module so wiring need not load execa).

/** Where system programs live on Debian/Ubuntu/Amazon Linux/RHEL; never inherited from our environment. */
export const DEFAULT_EXEC_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
