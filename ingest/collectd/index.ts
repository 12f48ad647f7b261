export { collectdConfig, collectdConfigFor, DEFAULT_COLLECTD_INTERVAL_SECONDS, type CollectdConfigOptions } from './config.ts';
