// Starts and stops one QEMU process: the guest kernel booted directly, a qcow2 overlay root, data disks, 9p share.
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { killGroup } from './proc.ts';

export interface DataDisk {
  file: string;
  /** nvme: attached with an EBS-style serial (vol…) so the guest gets /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol…. */
  bus: 'nvme' | 'virtio';
  serial: string;
}

export interface QemuOptions {
  kernel: string;
  initrd: string;
  /** qcow2 overlay on the cached base image: the only root disk file this run writes. */
  overlay: string;
  disks: DataDisk[];
  shareDir: string;
  /** Boot number the guest agent reads from the kernel command line (luksvm.boot=N). */
  boot: number;
  serialLog: string;
  qemuLog: string;
  memoryMb: number;
  cpus: number;
  /**
   * single: every vCPU on one host thread (-accel tcg,thread=single) instead of one each. Debian 13's kernel
   * (6.12) under multi-threaded TCG was seen to hit its own int3 breakpoints of a code patch in progress ("Oops: int3"
   * in sched_clock_cpu from the idle loop, boot 1 of a run on 2026-12-08; a "Fatal exception in interrupt" in CI the
   * day before): cross-modifying code is only safe in QEMU when one thread runs all vCPUs.
   */
  tcgThreads: 'multi' | 'single';
}

export interface QemuProcess {
  pid: number;
  /** Settles when QEMU exits: after a guest poweroff or reboot (-no-reboot), a crash, or kill(). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  kill(): Promise<void>;
}

const KILL_WAIT_MS = 10_000;

export function qemuArgs(options: QemuOptions): string[] {
  // panic=-1 + -no-reboot: a guest panic ends QEMU at once instead of hanging until the host's timeout.
  const cmdline = `root=/dev/vda rw console=ttyS0,115200 net.ifnames=0 panic=-1 luksvm.boot=${options.boot}`;
  const args = [
    '-accel', options.tcgThreads === 'single' ? 'tcg,thread=single' : 'tcg', '-cpu', 'max', '-machine', 'pc', '-m', String(options.memoryMb), '-smp', String(options.cpus),
    '-nodefaults', '-display', 'none', '-monitor', 'none', '-no-reboot',
    '-serial', `file:${options.serialLog}`,
    '-kernel', options.kernel, '-initrd', options.initrd, '-append', cmdline,
    '-drive', `file=${options.overlay},if=none,id=root,format=qcow2`,
    '-device', 'virtio-blk-pci,drive=root',
    '-virtfs', `local,path=${options.shareDir},mount_tag=hostshare,security_model=none,id=share`,
    '-netdev', 'user,id=net0', '-device', 'virtio-net-pci,netdev=net0',
    '-object', 'rng-random,filename=/dev/urandom,id=rng0', '-device', 'virtio-rng-pci,rng=rng0',
  ];
  options.disks.forEach((disk, i) => {
    args.push('-drive', `file=${disk.file},if=none,id=data${i},format=raw`);
    args.push('-device', disk.bus === 'nvme' ? `nvme,serial=${disk.serial},drive=data${i}` : `virtio-blk-pci,serial=${disk.serial},drive=data${i}`);
  });
  return args;
}

/** Boots QEMU in its own process group (so kill() takes every thread and helper with it). */
export function startQemu(options: QemuOptions): QemuProcess {
  const log = openSync(options.qemuLog, 'a');
  const child = spawn('qemu-system-x86_64', qemuArgs(options), { stdio: ['ignore', log, log], detached: true });
  closeSync(log);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
    child.on('error', () => {
      done = true;
      resolve({ code: null, signal: null });
    });
  });
  if (child.pid === undefined) throw new Error('qemu-system-x86_64 could not be started');
  const pid = child.pid;
  return {
    pid,
    exited,
    hasExited: () => done,
    async kill() {
      if (done) return;
      killGroup(pid);
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, KILL_WAIT_MS))]);
    },
  };
}
