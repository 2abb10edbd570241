// The config module's public face: load and list volume configs, the key table and its renderings.
export { loadVolumeConfig, SAMPLE_CONFIG_PATH, type LoadConfigOptions } from './load.ts';
export { listConfiguredVolumes, isVolumeName, assertVolumeName, volumeConfigPath } from './volumes.ts';
export { parseKeyValueText, type ConfigEntry, type ParsedConfigFile } from './parse.ts';
export { CONFIG_KEYS, findConfigKey, type ConfigKey } from './keys.ts';
export { renderConfigKeysMarkdown, renderSampleConfig } from './docs.ts';
export { CONFIG_FILE_MAX_BYTES } from './read.ts';
export { readGuardKeys, type GuardKeys } from './guard-keys.ts';
export { refuseSharedSettings, settingsSharedWithOthers, type SharedSetting } from './shared.ts';
