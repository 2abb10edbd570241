// Renders the key table for people: Markdown for the README and man page, and the commented sample config.
import { CONFIG_KEYS, type ConfigKey } from './keys.ts';

function defaultText(key: ConfigKey): string {
  if (key.required) return key.requiredUnless ? `(required unless ${key.requiredUnless.key}=${key.requiredUnless.value})` : '(required)';
  if (key.default === undefined) return '(unset)';
  return key.default === '' ? '(none)' : `\`${key.default}\``;
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

/** The key table as a Markdown table (one source for README and man page). */
export function renderConfigKeysMarkdown(): string {
  const rows = CONFIG_KEYS.map((key) => {
    const name = key.origin === 'luks-mount' ? `\`${key.name}\` ¹` : `\`${key.name}\``;
    return `| ${name} | ${defaultText(key)} | ${cell(key.syntax)} | ${cell(key.description)} |`;
  });
  return [
    '| Key | Default | Values | Meaning |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    '¹ Same key and meaning as in the luks-mount.sh design: an existing /etc/default/luks-mount works unchanged.',
    '',
    'An empty value (`KEY=`) means the default; for a required key it is an error.',
    '',
  ].join('\n');
}

/** A commented example config (for /etc/luks-ssm/example.conf.sample): required keys set, the rest commented out. */
export function renderSampleConfig(): string {
  const examples: Record<string, string> = {
    LUKS_DEVICE: '/dev/nvme1n1',
    LUKS_DEVICE_MAP: 'data',
    LUKS_DEVICE_MOUNT_POINT: '/data',
    SSM_PATH: '/luks/data/passphrase',
  };
  const blocks = CONFIG_KEYS.map((key) => {
    const about = `# ${key.name}: ${key.description}\n#   ${key.syntax}${key.required ? '; required' : ''}`;
    if (key.required) return `${about}\n${key.name}=${examples[key.name] ?? ''}`;
    return `${about}\n#${key.name}=${key.default === undefined || key.default.includes(' ') ? '' : key.default}`;
  });
  return [
    '# luks-ssm volume config: copy to /etc/luks-ssm/<volume>.conf (owned by root, mode 0600 or 0644).',
    '# KEY=value lines; "quotes" around values with spaces; no $ expansion. Values here override',
    '# /etc/default/luks-ssm; an empty value (KEY=) means the built-in default.',
    '',
    blocks.join('\n\n'),
    '',
  ].join('\n');
}
