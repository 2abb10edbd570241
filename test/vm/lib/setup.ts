// Prepares one VM run: work dir, share, overlay, disks (LUKS formatted on the host), emulator, guest, context.
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { startAwsEmulator, startTcpListener, type VmEmulator } from './aws.ts';
import { addBenchKeySlot, createBlankDisk, createLuksExt4Disk, createOverlay } from './disk.ts';
import type { GuestImage } from './image.ts';
import type { HostDisk, ScenarioContext } from './scenario.ts';
import { prepareShare } from './share.ts';
import type { DataDisk } from './qemu.ts';
import { createVm, type Vm } from './vm.ts';

export const DATA_SERIAL = 'vol0a1b2c3d4e5f60718';
export const SCRATCH_SERIAL = 'vol0fedcba9876543210';
/** A second blank disk: 08-lifecycle enrolls one volume per key source (ssm on scratch, kms on this one). */
export const KMS_SERIAL = 'vol0123456789abcdef0';
export const SSM_PATH = '/luks-ssm-vm/data';
/** Opens the data disk's key slot 1 (same PBKDF as slot 0) for the bare open in the boot figures: not a secret. */
export const BENCH_KEY = 'luks-ssm-vm bench key, not a secret';
const DISK_MB = 64;

export interface RunSetup {
  ctx: ScenarioContext;
  vm: Vm;
  /** Stops the guest and the emulator; safe to call more than once. */
  teardown(): Promise<void>;
}

export interface SetupOptions {
  image: GuestImage;
  workDir: string;
  deb: string | undefined;
  memoryMb: number;
  bootTimeoutMs: number;
  /** The selected scenarios' own disks (after the four every run has). */
  hostDisks: readonly HostDisk[];
  progress(line: string): void;
}

async function seedEmulator(port: number | undefined, passphrase: Buffer): Promise<VmEmulator> {
  const emulator = await startAwsEmulator(port);
  const key = emulator.createKey({ alias: 'alias/luks-ssm-vm', description: 'VM test volume key' });
  emulator.putParameter(SSM_PATH, passphrase.toString('utf8'), { type: 'SecureString', keyId: key.keyId });
  return emulator;
}

export async function setUpRun(options: SetupOptions): Promise<RunSetup> {
  const { workDir, progress } = options;
  rmSync(workDir, { recursive: true, force: true });
  const shareDir = join(workDir, 'share');
  mkdirSync(shareDir, { recursive: true });
  prepareShare(shareDir);
  if (options.deb) copyFileSync(options.deb, join(shareDir, basename(options.deb)));

  const overlay = join(workDir, 'root-overlay.qcow2');
  await createOverlay(options.image.rootfs, overlay);
  // Base64 text: the passphrase is exactly these bytes, in the emulator and in the data disk's keyslot.
  const passphrase = Buffer.from(randomBytes(33).toString('base64'));
  const dataDisk = join(workDir, 'data.raw');
  await createLuksExt4Disk(dataDisk, DISK_MB, passphrase, 'vmdata');
  await addBenchKeySlot(dataDisk, passphrase, BENCH_KEY, join(workDir, 'bench.key'));
  createBlankDisk(join(workDir, 'scratch.raw'), DISK_MB);
  createBlankDisk(join(workDir, 'kms.raw'), DISK_MB);
  progress(`work dir ${workDir}: overlay, LUKS2 data disk (${DISK_MB} MiB, formatted on the host), 2 blank disks`);
  const hostDisks: DataDisk[] = [];
  for (const disk of options.hostDisks) {
    const file = join(workDir, `${disk.serial}.raw`);
    const started = Date.now();
    await disk.make(file);
    hostDisks.push({ file, bus: 'nvme', serial: disk.serial });
    progress(`scenario disk ${disk.serial} made on the host (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }

  let emulator: VmEmulator | undefined;
  let listener: { port: number; stop(): Promise<void> } | undefined;
  try {
    emulator = await seedEmulator(undefined, passphrase);
    progress(`emulator listening on ${emulator.url} (guest: http://10.0.2.2:${emulator.port})`);
  } catch (error) {
    listener = await startTcpListener();
    progress(`emulator not available (${(error as Error).message.split('\n')[0]}); plain listener on 127.0.0.1:${listener.port}`);
  }
  const port = emulator?.port ?? listener!.port;

  const vm = createVm({
    image: options.image, workDir, shareDir, overlay,
    disks: [
      { file: dataDisk, bus: 'nvme', serial: DATA_SERIAL },
      { file: join(workDir, 'scratch.raw'), bus: 'nvme', serial: SCRATCH_SERIAL },
      { file: join(workDir, 'kms.raw'), bus: 'nvme', serial: KMS_SERIAL },
      ...hostDisks,
    ],
    memoryMb: options.memoryMb, cpus: 2, bootTimeoutMs: options.bootTimeoutMs, shutdownTimeoutMs: 120_000,
    vars: {
      EMU_KIND: emulator ? 'emulator' : 'listener', EMU_PORT: String(port), EMU_URL: `http://10.0.2.2:${port}`,
      REGION: emulator?.region ?? 'us-east-1', SSM_PATH, DATA_SERIAL, SCRATCH_SERIAL, KMS_SERIAL,
      VOLUME_ID: `vol-${DATA_SERIAL.slice(3)}`, DATA_DEV: `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${DATA_SERIAL}`,
      DEB: options.deb ? `/mnt/host/${basename(options.deb)}` : '',
      BENCH_KEY,
    },
    progress,
  });

  const ctx: ScenarioContext = {
    vm, distro: options.image.distro, passphrase, deb: options.deb, workDir, shareDir, overlay, progress,
    async ensureBooted() {
      if (!vm.isRunning()) await vm.start('wait_booted 120');
    },
    emulator() {
      if (!emulator) throw new Error('the AWS emulator (test/emulator/index.ts) could not be loaded');
      return emulator;
    },
    async stopEmulator() {
      await emulator?.stop();
      emulator = undefined;
      progress(`emulator stopped (127.0.0.1:${port} refuses connections)`);
    },
    async restartEmulator() {
      emulator = await seedEmulator(port, passphrase);
      progress(`emulator restarted on ${emulator.url}`);
    },
  };

  let down = false;
  return {
    ctx, vm,
    async teardown() {
      if (down) return;
      down = true;
      await vm.kill();
      await emulator?.stop();
      await listener?.stop();
    },
  };
}
