// The LUKS header's first bytes, read without running cryptsetup: under emulation at boot a cryptsetup process
// costs 0.2-0.3 s of the unlock, and this read costs none of that.
import { readBytesAt } from '../device/read-bytes.ts';

/** "LUKS\xba\xbe", then the version, big-endian: 1 or 2 (cryptsetup's lib/luks1 and lib/luks2 headers). */
const MAGIC = Buffer.from([0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe]);
const VERSIONS = new Set([1, 2]);
const HEAD_BYTES = MAGIC.length + 2;
/** A device that does not answer a read of 8 bytes in this long gets cryptsetup's verdict (and its timeout). */
export const MAGIC_READ_TIMEOUT_MS = 2_000;

/**
 * True when `device` starts with a LUKS1 or LUKS2 header's magic and version; false when it does not, cannot be read,
 * or does not answer in time. Only a yes is taken from here: a no is for cryptsetup to confirm (a LUKS2 volume whose
 * primary header is damaged is still LUKS by its secondary header).
 */
export async function hasLuksMagic(device: string, timeoutMs = MAGIC_READ_TIMEOUT_MS): Promise<boolean> {
  const head = await readBytesAt(device, 0, HEAD_BYTES, timeoutMs);
  return Buffer.isBuffer(head) && head.subarray(0, MAGIC.length).equals(MAGIC) && VERSIONS.has(head.readUInt16BE(MAGIC.length));
}
