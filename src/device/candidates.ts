// The /dev paths a LUKS_DEVICE spec may show up as, most specific first (udev's /dev/disk/by-* names).
import { isAbsolute, normalize } from 'node:path';
import { UnlockError } from '../errors.ts';

/**
 * EBS volumes on Nitro instances are NVMe devices whose serial is the volume id without its dash
 * (vol0123…); udev's 60-persistent-storage rules name them nvme-Amazon_Elastic_Block_Store_<serial>.
 * Some images (amazon-ec2-utils) also keep the dashed form, so both are tried.
 */
const EBS_ID = /^vol-?([0-9a-f]{8}|[0-9a-f]{17})$/;
const EBS_BY_ID = '/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_';

const TAGS: Record<string, string> = {
  UUID: '/dev/disk/by-uuid/',
  PARTUUID: '/dev/disk/by-partuuid/',
  LABEL: '/dev/disk/by-label/',
  PARTLABEL: '/dev/disk/by-partlabel/',
};

export function deviceCandidates(spec: string): string[] {
  const tag = /^([A-Z]+)=(.*)$/.exec(spec);
  if (tag !== null) return tagCandidates(spec, tag[1]!, tag[2]!);
  const ebs = EBS_ID.exec(spec);
  if (ebs !== null) return [`${EBS_BY_ID}vol${ebs[1]}`, `${EBS_BY_ID}vol-${ebs[1]}`];
  if (isAbsolute(spec)) return [normalize(spec), ...xenAliases(normalize(spec))];
  throw invalid(spec);
}

function tagCandidates(spec: string, tag: string, value: string): string[] {
  const dir = TAGS[tag];
  if (dir === undefined || value === '' || value === '.' || value === '..' || value.includes('/')) {
    throw invalid(spec);
  }
  if (tag === 'LABEL' || tag === 'PARTLABEL') return [dir + udevEscape(value)];
  const lower = value.toLowerCase();
  return lower === value ? [dir + value] : [dir + value, dir + lower];
}

/** On Xen instances the kernel renames /dev/sdf to /dev/xvdf; Nitro images link both names. */
function xenAliases(path: string): string[] {
  const sd = /^\/dev\/sd([a-z]+\d*)$/.exec(path);
  if (sd !== null) return [`/dev/xvd${sd[1]}`];
  const xvd = /^\/dev\/xvd([a-z]+\d*)$/.exec(path);
  return xvd !== null ? [`/dev/sd${xvd[1]}`] : [];
}

const SAFE_LABEL_CHAR = /[A-Za-z0-9#+\-.:=@_]/;

/** udev's blkid_encode_string: unsafe ASCII becomes \xNN (a space is \x20); UTF-8 letters stay. */
function udevEscape(value: string): string {
  const escape = (ch: string): string => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
  return [...value].map((ch) => (ch > '\x7f' || SAFE_LABEL_CHAR.test(ch) ? ch : escape(ch))).join('');
}

function invalid(spec: string): UnlockError {
  return new UnlockError(
    'CONFIG',
    `LUKS_DEVICE=${spec} is not a /dev path, UUID=, PARTUUID=, LABEL=, PARTLABEL= or an EBS volume id (vol-…)`,
  );
}
